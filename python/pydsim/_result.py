"""A run's results: statistics and series as pandas DataFrames, figures and
the manifest as dicts."""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np
import pandas as pd

from . import _core

__all__ = ["Result", "read_results"]


class Result:
    """What a run produced.

    stats     DataFrame equal to results.csv: group, stat, kind, field, value
              (one row per field of every statistic; histograms add lo and hi).
    series    DataFrame indexed by time, one column "group.stat" per series
              (empty when the model samples none); series_long is the same
              as series.csv: group, stat, time, value.
    figures   dict: the run's figures (manifest.json's "run": events,
              timings, memory, engine, threads, partitions, ...).
    manifest  dict: manifest.json (what ran and how).
    end_time, seed, out (the result directory written, or None).
    """

    def __init__(self) -> None:
        raise TypeError("Results come from Model.run() and pydsim.read_results()")

    @classmethod
    def _from_raw(cls, raw: dict, manifest: dict, out: Any) -> "Result":
        self = object.__new__(cls)
        self._raw_stats = raw["stats"]
        self._raw_series = raw["series"]
        self.end_time = raw["end_time"]
        self.seed = raw["seed"]
        self.manifest = manifest
        self.figures = manifest.get("run", {})
        self.out = os.fspath(out) if out is not None else None
        self._stats = None
        self._series = None
        self._series_long = None
        return self

    # ---- tables ---------------------------------------------------------------------
    @property
    def stats(self) -> pd.DataFrame:
        if self._stats is None:
            r = self._raw_stats
            self._stats = pd.DataFrame({
                "group": pd.array(r["group"], dtype=object),
                "stat": pd.array(r["stat"], dtype=object),
                "kind": pd.array(r["kind"], dtype=object),
                "field": pd.array(r["field"], dtype=object),
                "value": r["value"],
            })
        return self._stats

    @property
    def series(self) -> pd.DataFrame:
        if self._series is None:
            self._series = _wide_series(self._raw_series)
        return self._series

    @property
    def series_long(self) -> pd.DataFrame:
        if self._series_long is None:
            self._series_long = _long_series(self._raw_series)
        return self._series_long

    def value(self, group: str, stat: str, field: str) -> float:
        """The value of `field` of statistic `stat` of `group` (KeyError naming
        what is missing)."""
        r = self._raw_stats
        for i, (g, s, f) in enumerate(zip(r["group"], r["stat"], r["field"])):
            if g == group and s == stat and f == field:
                return float(r["value"][i])
        known = sorted({f"{g}.{s}" for g, s in zip(r["group"], r["stat"])})
        if f"{group}.{stat}" in known:
            fields = [f for g, s, f in zip(r["group"], r["stat"], r["field"])
                      if g == group and s == stat]
            raise KeyError(f"statistic {group}.{stat} has no field '{field}' "
                           f"(fields: {', '.join(fields)})")
        raise KeyError(f"no statistic {group}.{stat} (statistics: {', '.join(known) or 'none'})")

    def summary(self) -> pd.DataFrame:
        """One row per statistic, its fields as columns (NaN where a kind
        has no such field)."""
        s = self.stats
        table = s.pivot_table(index=["group", "stat", "kind"], columns="field", values="value",
                              sort=False)
        table.columns.name = None
        return table.reset_index()

    def plot(self, what: str = "series", **kwargs):
        """A matplotlib chart of this result; returns the Axes.

        what="series": the series over time (columns=[...] picks some);
        what="histogram": a histogram statistic's bins (stat="group.stat").
        ax=, title= and the usual matplotlib keywords pass through.
        """
        from . import _plot
        return _plot.plot_result(self, what, **kwargs)

    def __repr__(self) -> str:
        f = self.figures
        return (f"<pydsim.Result end_time={self.end_time} seed={self.seed} "
                f"events={f.get('events_processed')} sync={f.get('sync')} "
                f"threads={f.get('threads')} stats={len(self._raw_stats['value'])} rows "
                f"series={len(self._raw_series)}>")


def _wide_series(raw: list) -> pd.DataFrame:
    if not raw:
        return pd.DataFrame(index=pd.Index([], dtype=float, name="time"))
    first = raw[0]["time"]
    if all(len(s["time"]) == len(first) and np.array_equal(s["time"], first) for s in raw):
        frame = pd.DataFrame({f"{s['group']}.{s['stat']}": s["value"] for s in raw},
                             index=pd.Index(first, name="time"), copy=False)
        return frame
    parts = [pd.Series(s["value"], index=pd.Index(s["time"], name="time"),
                       name=f"{s['group']}.{s['stat']}") for s in raw]
    return pd.concat(parts, axis=1).sort_index()


def _long_series(raw: list) -> pd.DataFrame:
    if not raw:
        return pd.DataFrame({"group": pd.Series([], dtype=object),
                             "stat": pd.Series([], dtype=object),
                             "time": pd.Series([], dtype=float),
                             "value": pd.Series([], dtype=float)})
    lengths = [len(s["time"]) for s in raw]
    codes = np.repeat(np.arange(len(raw)), lengths)
    groups = np.array([s["group"] for s in raw], dtype=object)
    stats = np.array([s["stat"] for s in raw], dtype=object)
    return pd.DataFrame({
        "group": groups[codes],
        "stat": stats[codes],
        "time": np.concatenate([s["time"] for s in raw]),
        "value": np.concatenate([s["value"] for s in raw]),
    })


def read_results(dir: str | os.PathLike) -> Result:
    """The result directory `dsim run` (or Model.run(out=...)) wrote, read
    back into a Result. Raises InputError naming the file when it is not one."""
    path = os.fspath(dir)
    raw = _core.read_results(path)
    with open(os.path.join(path, "manifest.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    return Result._from_raw(raw, manifest, path)
