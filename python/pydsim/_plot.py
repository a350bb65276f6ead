"""Charts of results with matplotlib: a run's series and histograms, an
experiment's statistic against a factor with confidence intervals.

Result.plot() and ExperimentResult.plot() call these. matplotlib is imported
on first use, so `import pydsim` works without it. Every function draws on
the Axes given as ax= (or on a new figure's) and returns that Axes; other
keyword arguments go to the matplotlib call that draws the data (plot, bar,
errorbar).
"""

from __future__ import annotations

import math
import os
import re
from typing import Any, Iterable, Mapping

import numpy as np

__all__ = ["plot_result", "plot_experiment"]

_BIN = re.compile(r"bin_(\d+)$")
_AUTO = object()  # hue: the second factor of a factorial design, else none


def _axes(ax):
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt
    _, ax = plt.subplots()
    return ax


def _names(names: Iterable[str]) -> str:
    names = list(names)
    return ", ".join(names) if names else "none"


# ---- one run ----------------------------------------------------------------------------

def plot_result(result, what: str = "series", *, columns: str | Iterable[str] | None = None,
                stat: str | None = None, ax=None, title: str | None = None, **kwargs: Any):
    """A chart of one run's Result; returns the Axes.

    what="series": every series of result.series over time, one line each
    (columns="group.stat" or a list of them picks some), with a legend.
    what="histogram": the bins of the histogram statistic stat="group.stat"
    (may be left out when the run has exactly one) as bars over its bin
    edges; the title counts the values and those below lo or above hi.
    title= replaces the default title. Raises ValueError naming what is
    known when a column or statistic is not.
    """
    if what == "series":
        if stat is not None:
            raise TypeError("stat= is for what='histogram'; series are picked with columns=")
        return _plot_series(result, columns, ax, title, kwargs)
    if what == "histogram":
        if columns is not None:
            raise TypeError("columns= is for what='series'; a histogram is picked with stat=")
        return _plot_histogram(result, stat, ax, title, kwargs)
    raise ValueError(f"what={what!r}: expected 'series' or 'histogram'")


def _run_title(result) -> str:
    config = result.manifest.get("config_file") or "model"
    name = os.path.basename(config) if config != "<dict>" else config
    return f"{name}, seed {result.seed}"


def _plot_series(result, columns, ax, title, kwargs):
    frame = result.series
    known = list(frame.columns)
    if not known:
        raise ValueError("this result has no series (a run samples its counters and gauges "
                         "only when [output] sample_interval is set)")
    if columns is None:
        picked = known
    else:
        picked = [columns] if isinstance(columns, str) else list(columns)
        unknown = [c for c in picked if c not in known]
        if unknown:
            raise ValueError(f"no series {', '.join(map(repr, unknown))} "
                             f"(series: {_names(known)})")
        if not picked:
            raise ValueError(f"columns=[] picks no series (series: {_names(known)})")
    ax = _axes(ax)
    for column in picked:
        # Series sampled at other times than the rest are NaN in between.
        values = frame[column].dropna()
        ax.plot(values.index.to_numpy(), values.to_numpy(), label=column, **kwargs)
    ax.set_xlabel("time")
    ax.set_ylabel(picked[0] if len(picked) == 1 else "value")
    ax.set_title(_run_title(result) if title is None else title)
    ax.legend()
    return ax


def _histograms(stats) -> dict:
    rows = stats[stats["kind"] == "histogram"]
    found: dict[str, dict[str, float]] = {}
    for group, name, field, value in zip(rows["group"], rows["stat"], rows["field"],
                                         rows["value"]):
        found.setdefault(f"{group}.{name}", {})[field] = float(value)
    return found


def _plot_histogram(result, stat, ax, title, kwargs):
    histograms = _histograms(result.stats)
    if stat is None:
        if len(histograms) != 1:
            raise ValueError(f"which histogram? stat='group.stat' is needed "
                             f"(histograms: {_names(histograms)})")
        stat = next(iter(histograms))
    if stat not in histograms:
        raise ValueError(f"no histogram statistic {stat!r} (histograms: {_names(histograms)})")
    fields = histograms[stat]
    bins = sorted((int(m.group(1)), v) for f, v in fields.items() if (m := _BIN.match(f)))
    counts = [v for _, v in bins]
    if not counts or "lo" not in fields or "hi" not in fields:
        raise ValueError(f"histogram {stat} has no bins or no lo/hi fields")
    lo, hi = fields["lo"], fields["hi"]
    edges = np.linspace(lo, hi, len(counts) + 1)
    ax = _axes(ax)
    if len(counts) <= 50:  # thin gaps between bars while they stay wide enough to see
        kwargs = {"edgecolor": "white", "linewidth": 0.5, **kwargs}
    ax.bar(edges[:-1], counts, width=np.diff(edges), align="edge", **kwargs)
    ax.set_xlim(lo, hi)
    ax.set_xlabel(stat)
    ax.set_ylabel("count")
    if title is None:
        title = f"{stat}: {_count(fields.get('count', sum(counts)))} values"
        if fields.get("underflow", 0) > 0:
            title += f", {_count(fields['underflow'])} below {lo:g}"
        if fields.get("overflow", 0) > 0:
            title += f", {_count(fields['overflow'])} above {hi:g}"
    ax.set_title(title)
    return ax


def _count(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:g}"


# ---- an experiment ----------------------------------------------------------------------

def plot_experiment(result, x: str | None = None, y: str | None = None, *, hue: Any = _AUTO,
                    fixed: Mapping[str, Any] | None = None, ax=None, title: str | None = None,
                    **kwargs: Any):
    """A factor against a statistic's mean over the replications, with its
    confidence interval (summary's ci_low..ci_high) as error bars; returns
    the Axes.

    x: a factor key, or "point" for the design points in order (default: the
    first factor; "point" when there is none).
    y: "group.stat.field" ("group.stat" means its mean; default: the first
    field in the summary). hue: a factor drawn as one line per value
    (default: the second factor of a factorial design; None for one line).
    fixed: {factor: value} keeps the points where those factors take those
    values. In a factorial design every other factor must then take one
    value (a ValueError names those that do not); in the other designs
    (lhs, random, points) they may vary from point to point, and the points
    are then drawn as markers, not joined.
    """
    summary = result.summary
    factors = list(result.factors)
    fixed = dict(fixed or {})

    if x is None:
        x = factors[0] if factors else "point"
    if x not in factors and x != "point":
        raise ValueError(f"x={x!r} is not a factor (factors: {_names(factors)}; "
                         f"or 'point')")
    # Points on a grid (a factorial design) are joined along x; "point" is
    # no grid, nor are the points of other designs.
    grid = result.design == "factorial" and x != "point"
    if hue is _AUTO:
        hue = next((f for f in factors if f != x and f not in fixed), None) if grid else None
    if hue is not None:
        if hue not in factors:
            raise ValueError(f"hue={hue!r} is not a factor (factors: {_names(factors)})")
        if hue == x:
            raise ValueError(f"hue={hue!r} is also x; pick another factor or hue=None")
    for key in fixed:
        if key not in factors:
            raise ValueError(f"fixed: {key!r} is not a factor (factors: {_names(factors)})")
        if key in (x, hue):
            raise ValueError(f"fixed: {key!r} is {'x' if key == x else 'hue'}; "
                             f"it cannot also be fixed")

    y, rows = _statistic_rows(summary, y)
    for key, value in fixed.items():
        kept = rows[rows[key] == value]
        if kept.empty:
            values = ", ".join(repr(v) for v in _unique(rows[key]))
            raise ValueError(f"fixed: {key} never takes the value {value!r} "
                             f"(its values: {values})")
        rows = kept

    free = [f for f in factors if f not in (x, hue) and f not in fixed]
    varying = [f for f in free if rows[f].nunique() > 1]
    if varying and grid:
        hint = ", ".join(f"{f} ({rows[f].nunique()} values: "
                         f"{', '.join(repr(v) for v in _unique(rows[f])[:5])}"
                         f"{', ...' if rows[f].nunique() > 5 else ''})" for f in varying)
        raise ValueError(f"other factors vary: {hint}; fix them (fixed={{KEY: VALUE}}) "
                         f"or draw one as hue=KEY")
    joined = not varying

    ax = _axes(ax)
    style = {"marker": "o", "capsize": 3}
    if not joined:
        style["linestyle"] = "none"
    style.update(kwargs)
    single_label = style.pop("label", None)
    if single_label is not None and hue is not None:
        raise TypeError(f"label= names a single line; the lines of hue={hue!r} are "
                        f"named by its values")
    lines = [(None, rows)] if hue is None else [(v, rows[rows[hue] == v])
                                               for v in _unique(rows[hue])]
    for value, part in lines:
        if _numeric(part[x]):
            part = part.sort_values(x, kind="stable")
        mean = part["mean"].to_numpy(dtype=float)
        # A point of one replication has no interval (NaN): no bar.
        below = np.nan_to_num(mean - part["ci_low"].to_numpy(dtype=float))
        above = np.nan_to_num(part["ci_high"].to_numpy(dtype=float) - mean)
        label = single_label if hue is None else _label(value)
        ax.errorbar(part[x].to_numpy(), mean, yerr=np.vstack([below, above]), label=label,
                    **style)

    if rows[x].dtype.kind in "biu":
        from matplotlib.ticker import MaxNLocator
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    confidence = result.manifest.get("experiment", {}).get("confidence", 0.95)
    ax.set_xlabel(x)
    ax.set_ylabel(f"{y} (mean, {_percent(confidence)} CI)")
    if title is None:
        title = f"{y} by {x}"
        if fixed:
            title += "\n" + ", ".join(f"{k} = {_label(v)}" for k, v in fixed.items())
    ax.set_title(title)
    if hue is not None:
        ax.legend(title=hue)
    return ax


def _statistic_rows(summary, y):
    from ._experiment import _split_stat

    if summary.empty:
        raise ValueError("the experiment's summary is empty (did every run fail?)")
    if y is None:
        first = summary.iloc[0]
        y = f"{first['group']}.{first['stat']}.{first['field']}"
    try:
        group, name, field = _split_stat(y)
    except KeyError:
        raise ValueError(f"y={y!r}: expected 'group.stat.field' (or 'group.stat' for its "
                         f"mean)") from None
    of_stat = summary[(summary["group"] == group) & (summary["stat"] == name)]
    if of_stat.empty:
        known = _unique(summary["group"] + "." + summary["stat"])
        raise ValueError(f"y={y!r}: no statistic {group}.{name} (statistics: {_names(known)})")
    rows = of_stat[of_stat["field"] == field]
    if rows.empty:
        raise ValueError(f"y={y!r}: statistic {group}.{name} has no field {field!r} "
                         f"(fields: {_names(_unique(of_stat['field']))})")
    return f"{group}.{name}.{field}", rows


def _unique(column) -> list:
    return list(dict.fromkeys(column.tolist()))


def _numeric(column) -> bool:
    return column.dtype.kind in "biuf"


def _label(value: Any) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return f"{value:g}"
    return str(value)


def _percent(share: float) -> str:
    percent = 100 * float(share)
    return f"{percent:.0f}%" if math.isclose(percent, round(percent)) else f"{percent:g}%"
