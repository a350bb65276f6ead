"""Experiments: replications and sweeps on the engine of `dsim experiment`,
results as DataFrames and the series as an xarray Dataset."""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
import tempfile
from typing import Any, Callable, Iterable, Mapping

import numpy as np
import pandas as pd

from . import _core
from ._model import Model, literal, load, mpi_comm_address

__all__ = ["experiment", "ExperimentResult", "factor_spec"]


def factor_spec(key: str, values: Any) -> dict:
    """One factor for the engine, from what `vary` may hold for it:
    a list/tuple/range/numpy array of values;
    {"from": a, "to": b, "step": s}: a..b (inclusive) by s;
    {"from": a, "to": b}: a continuous range (lhs and random designs; integers
    when both ends are ints);
    {"linspace": [first, last, count]}, {"logspace": [first, last, count]}.
    """
    spec = {"key": str(key), "values": [], "range": False, "lo": 0.0, "hi": 0.0,
            "log": False, "integer": False}
    if isinstance(values, Mapping):
        keys = set(values)
        if keys <= {"from", "to", "step"} and {"from", "to"} <= keys:
            lo, hi = values["from"], values["to"]
            if "step" in values:
                step = values["step"]
                if not step or (hi - lo) / step < 0:
                    raise _core.InputError(f"vary: {key}: step {step!r} never reaches {hi!r} "
                                           f"from {lo!r}")
                n = int(math.floor((hi - lo) / step + 1e-9)) + 1
                if n <= 0:
                    raise _core.InputError(f"vary: {key}: the range is empty")
                whole = all(isinstance(v, int) for v in (lo, hi, step))
                spec["values"] = [literal(lo + i * step if whole else float(lo + i * step))
                                  for i in range(n)]
            else:
                if not hi > lo:
                    raise _core.InputError(f"vary: {key}: the range {lo!r}..{hi!r} is empty")
                spec.update(range=True, lo=float(lo), hi=float(hi),
                            integer=isinstance(lo, int) and isinstance(hi, int))
            return spec
        if keys in ({"linspace"}, {"logspace"}):
            kind = next(iter(keys))
            first, last, count = values[kind]
            count = int(count)
            if count < 1:
                raise _core.InputError(f"vary: {key}: {kind} needs a count of at least 1")
            if kind == "linspace":
                points = np.linspace(first, last, count)
            else:
                if not (first > 0 and last > 0):
                    raise _core.InputError(f"vary: {key}: logspace needs positive ends")
                points = np.geomspace(first, last, count)
            spec["values"] = [literal(float(v)) for v in points]
            spec.update(range=True, lo=float(min(first, last)), hi=float(max(first, last)),
                        log=kind == "logspace")
            return spec
        raise _core.InputError(f"vary: {key}: expected a list of values, {{from, to[, step]}}, "
                               f"{{linspace: [first, last, count]}} or {{logspace: ...}}, "
                               f"not {dict(values)!r}")
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        values = [values]
    spec["values"] = [literal(v) for v in values]
    if not spec["values"]:
        raise _core.InputError(f"vary: {key}: no values")
    return spec


class ExperimentResult:
    """What an experiment produced.

    runs       DataFrame = runs.csv: point, the factor columns, replication,
               seed, group, stat, field, value (one row per run and field).
    summary    DataFrame = summary.csv: point, the factor columns, group,
               stat, field, n, mean, stddev, ci_low, ci_high, half_width.
    points     DataFrame: per design point its factor values, replications,
               failed runs, and why it stopped.
    series     xarray Dataset of the runs' series (see the property).
    failures   list of dicts: point, replication, seed, message.
    manifest   dict: manifest.json.
    factors    the factor keys, in order.
    """

    def __init__(self, raw: dict, out: str, factors: list[str], design: str,
                 keep: bool) -> None:
        self.factors = factors
        self.design = design
        self.failures = raw["failures"]
        self.runs_executed = raw["runs_executed"]
        self.wall_seconds = raw["wall_seconds"]
        self.out = out if keep else None
        self._raw_series = raw["series"]
        self._point_values = [p["values"] for p in raw["points"]]
        with open(os.path.join(out, "manifest.json"), encoding="utf-8") as f:
            self.manifest = json.load(f)
        self.runs = self._read(os.path.join(out, "runs.csv"))
        self.summary = self._read(os.path.join(out, "summary.csv"))
        rows = []
        for p in raw["points"]:
            row = {"point": p["point"]}
            for key, value in zip(factors, p["values"]):
                row[key] = _python_value(value)
            row.update(replications=p["replications"], failed=p["failed"], stopped=p["stopped"])
            rows.append(row)
        self.points = pd.DataFrame(rows)
        self._series = None

    def _read(self, path: str) -> pd.DataFrame:
        frame = pd.read_csv(path, keep_default_na=False, na_values=["nan"],
                            float_precision="round_trip")
        # Factor columns hold the labels as the files write them; give them
        # back as numbers where they are numbers.
        for key in self.factors:
            if key in frame.columns:
                try:
                    frame[key] = pd.to_numeric(frame[key])
                except (ValueError, TypeError):
                    pass  # labels that are not numbers stay text
        return frame

    def value(self, stat: str, point: int = 0, what: str = "mean") -> float:
        """A summary figure: `stat` is "group.stat.field", `what` one of n,
        mean, stddev, ci_low, ci_high, half_width."""
        group, name, field = _split_stat(stat)
        s = self.summary
        row = s[(s["point"] == point) & (s["group"] == group) & (s["stat"] == name)
                & (s["field"] == field)]
        if row.empty:
            raise KeyError(f"no summary of {stat} at point {point}")
        return float(row[what].iloc[0])

    @property
    def series(self):
        """The series of the runs this call executed, as an xarray Dataset:
        one variable per series ("group.stat"), dimensions (factors...,
        replication, time) for a factorial design, (point, replication, time)
        otherwise (the factor values then as coordinates along point).
        Replications a point did not run (a stopping rule) are NaN."""
        if self._series is None:
            self._series = _series_dataset(self)
        return self._series

    def plot(self, x: str | None = None, y: str | None = None, **kwargs):
        """A factor against a statistic's mean, with its confidence interval
        as error bars (one line per value of another factor: hue=KEY);
        returns the Axes. y is "group.stat.field" (default: the first)."""
        from . import _plot
        return _plot.plot_experiment(self, x, y, **kwargs)

    def __repr__(self) -> str:
        return (f"<pydsim.ExperimentResult points={len(self.points)} runs={len(self.runs)} "
                f"failures={len(self.failures)} factors={self.factors}>")


def _split_stat(stat: str) -> tuple[str, str, str]:
    parts = stat.split(".")
    if len(parts) == 2:
        return parts[0], parts[1], "mean"
    if len(parts) == 3:
        return parts[0], parts[1], parts[2]
    raise KeyError(f"'{stat}': expected group.stat.field")


def _python_value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _series_dataset(result: ExperimentResult):
    import xarray as xr

    raw = result._raw_series
    points = len(result._point_values)
    if not raw:
        return xr.Dataset()
    reps = 1 + max(s["replication"] for s in raw)
    names = []
    for s in raw:
        name = f"{s['group']}.{s['stat']}"
        if name not in names:
            names.append(name)
    times = np.unique(np.concatenate([s["time"] for s in raw]))
    data = {n: np.full((points, reps, len(times)), np.nan) for n in names}
    for s in raw:
        index = np.searchsorted(times, s["time"])
        data[f"{s['group']}.{s['stat']}"][s["point"], s["replication"], index] = s["value"]
    values = [[_python_value(v) for v in p] for p in result._point_values]
    factorial = result.design == "factorial" and result.factors
    if factorial:
        levels = []
        for j in range(len(result.factors)):
            seen = []
            for p in values:
                if p[j] not in seen:
                    seen.append(p[j])
            levels.append(seen)
        shape = tuple(len(l) for l in levels)
        if math.prod(shape) == points:
            dims = tuple(result.factors) + ("replication", "time")
            coords = {k: l for k, l in zip(result.factors, levels)}
            coords.update(replication=np.arange(reps), time=times)
            return xr.Dataset({n: (dims, a.reshape(shape + (reps, len(times))))
                               for n, a in data.items()}, coords=coords)
    coords = {"point": np.arange(points), "replication": np.arange(reps), "time": times}
    for j, key in enumerate(result.factors):
        coords[key] = ("point", [p[j] for p in values])
    return xr.Dataset({n: (("point", "replication", "time"), a) for n, a in data.items()},
                      coords=coords)


def _progress_printer(stream=None) -> Callable[[dict], None]:
    stream = stream or sys.stderr

    def show(p: dict) -> None:
        stream.write(f"\rdsim: {p['runs_done']} of {p['runs_expected']} runs, "
                     f"{p['points_done']} of {p['points']} points, {p['wall_seconds']:.1f} s")
        stream.flush()

    return show


def experiment(model: Model | str | os.PathLike | Mapping, vary: Mapping | None = None,
               replications: int = 10, precision: str | Mapping | None = None,
               confidence: float = 0.95, min_replications: int = 5,
               max_replications: int = 100, design: str = "factorial",
               points: int = 0, design_seed: int = 1, seed: int | None = None,
               common_random_numbers: bool = True, workers: int = 0,
               out: str | os.PathLike | None = None, resume: bool = False,
               retry_failed: bool = False, series: bool = True,
               progress: bool | Callable[[dict], None] | None = None,
               comm: Any = None) -> ExperimentResult | None:
    """Runs an experiment on the engine of `dsim experiment` and returns its
    results.

    model: a Model, a config path or a dict. vary: {key: values} with keys as
    --set takes them (see factor_spec for what values may be). replications:
    per design point; or precision="group.stat.field=REL" (or {"stat":
    "queue.wait.mean", "relative": 0.01}) stops each point once its
    confidence interval is that tight, between min_ and max_replications.
    design: "factorial", "lhs", "random" (with points=N and design_seed) or
    "points" (point k takes every factor's k-th value). seed: the seed every
    run's seed derives from (default: the model's). workers: threads (0: one
    per core). out: keep the result files (runs.csv, summary.csv, ...,
    runs.journal) there; resume=True continues the journal there after an
    interruption. series=False skips collecting the runs' series. comm: an
    mpi4py communicator whose processes share the runs (each calls this;
    rank 0 gets the result).
    Ctrl-C stops it (finished runs stay in the journal) and raises
    KeyboardInterrupt.
    """
    if not isinstance(model, Model):
        model = load(model)
    factors = [factor_spec(k, v) for k, v in (vary or {}).items()]
    if isinstance(precision, Mapping):
        stat = precision.get("stat")
        rel = precision.get("relative")
        if stat is None or rel is None:
            raise _core.InputError("precision: expected {'stat': 'group.stat.field', "
                                   "'relative': REL}")
        precision = f"{stat}={rel!r}"
    spec = {"factors": factors, "design": design, "points": int(points),
            "design_seed": int(design_seed), "replications": int(replications),
            "precision": precision, "confidence": float(confidence),
            "min_replications": int(min_replications),
            "max_replications": int(max_replications),
            "common_random_numbers": bool(common_random_numbers),
            "seed": None if seed is None else int(seed)}
    keep = out is not None
    directory = os.fspath(out) if keep else tempfile.mkdtemp(prefix="pydsim-experiment-")
    callback = _progress_printer() if progress is True else (progress or None)
    address = mpi_comm_address(comm)
    try:
        try:
            raw = _core.experiment(model._source(), spec, directory, int(workers), bool(resume),
                                   bool(retry_failed), bool(series), callback, address,
                                   f"pydsim {_core.version}")
        except _core.InputError as error:
            text = str(error)
            if "continue it with --resume" in text:  # the CLI's words, for Python
                raise _core.InputError(text.replace("--resume", "resume=True")) from None
            raise
        if progress is True:
            sys.stderr.write("\n")
        if comm is not None and comm.Get_rank() != 0:
            return None
        return ExperimentResult(raw, directory, [f["key"] for f in factors], design, keep)
    finally:
        if not keep:
            shutil.rmtree(directory, ignore_errors=True)
