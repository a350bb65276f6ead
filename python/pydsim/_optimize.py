"""Optimisation: Optuna's ask/tell loop over the experiment engine, one
experiment (design "points") per batch of trials.

    import pydsim
    model = pydsim.load("models/queueing/mmc.toml", set={"simulation.end_time": 2000})
    best = pydsim.optimize(
        model,
        space={"entities.queue.params.servers": range(1, 7),
               "entities.queue.params.service": {"from": 0.5, "to": 2.0, "step": 0.25,
                                                 "format": "exp(rate={})"}},
        objective=lambda r: (r.params["entities.queue.params.servers"]
                             + 5 * r.value("queue.wait.mean")),
        n_trials=40, replications=5, seed=1)
    best.best_params, best.best_value, best.trials

Thread safety: the runs of a batch go to the experiment engine's worker
threads (the GIL released); the objective is called after them, on the
calling thread, one trial at a time. One call at a time per study.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
import warnings
from decimal import Decimal
from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd

try:
    import optuna
    from optuna.distributions import (CategoricalDistribution, FloatDistribution,
                                      IntDistribution)
    from optuna.trial import TrialState
except ImportError as error:  # pragma: no cover - optuna is a dependency
    raise ImportError("pydsim.optimize needs Optuna (Debian: python3-optuna)") from error

from . import _core
from ._experiment import ExperimentResult, _split_stat, experiment
from ._model import Model, load

__all__ = ["optimize", "OptimizeResult", "TrialResult"]

# The Optuna user attributes pydsim keeps: on each trial the batch that ran it
# and why it failed; on the study the settings a resume must repeat.
_BATCH_ATTR = "batch"
_FAIL_ATTR = "fail_reason"
_STUDY_ATTR = "pydsim"


class _Parameter:
    """One key of the search space: the Optuna distribution its values are
    drawn from, and how a drawn value becomes the config value."""

    def __init__(self, key: str, distribution: Any, format: Any) -> None:
        self.key = key
        self.distribution = distribution
        self.format = format

    def config_value(self, value: Any) -> Any:
        if self.format is None:
            return value
        if isinstance(self.format, str):
            return self.format.format(value)
        return self.format(value)

    def describe(self) -> dict:
        """What a resume must repeat, as JSON."""
        fmt = self.format
        if fmt is not None and not isinstance(fmt, str):
            fmt = "<function " + getattr(fmt, "__qualname__", type(fmt).__name__) + ">"
        return {"key": self.key,
                "distribution": json.loads(
                    optuna.distributions.distribution_to_json(self.distribution)),
                "format": fmt}

    def ends(self) -> tuple[Any, Any]:
        """The first and the last value it can take."""
        d = self.distribution
        if hasattr(d, "choices"):
            return d.choices[0], d.choices[-1]
        return d.low, d.high


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_))


def _scalar(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _parameter(key: Any, spec: Any) -> _Parameter:
    """A space entry, as optimize() documents them."""
    if not isinstance(key, str) or not key:
        raise _core.InputError(f"space: {key!r}: keys are config keys as --set takes them "
                               "(\"entities.queue.params.servers\")")
    fmt = None
    choices = None
    numeric = None
    if isinstance(spec, range):
        if len(spec) == 0:
            raise _core.InputError(f"space: {key}: {spec!r} is empty")
        numeric = {"from": min(spec), "to": max(spec), "step": abs(spec.step)}
    elif isinstance(spec, Mapping):
        spec = dict(spec)
        fmt = spec.pop("format", None)
        if set(spec) == {"choices"}:
            choices = spec["choices"]
        elif {"from", "to"} <= set(spec) <= {"from", "to", "step", "log"}:
            numeric = spec
        else:
            raise _core.InputError(
                f"space: {key}: expected a list of choices, range(...), {{\"choices\": [...]}} "
                f"or {{\"from\": a, \"to\": b[, \"step\": s][, \"log\": true]}} (each may add "
                f"\"format\"), not {spec!r}")
        if fmt is not None and not (isinstance(fmt, str) or callable(fmt)):
            raise _core.InputError(f"space: {key}: format is a str.format template "
                                   f"(\"exp(rate={{}})\") or a function, not {fmt!r}")
    elif isinstance(spec, (list, tuple, np.ndarray)):
        choices = spec
    else:
        raise _core.InputError(f"space: {key}: expected a list of choices, range(...) or a "
                               f"dict with from/to, not {type(spec).__name__} {spec!r}")

    try:
        if choices is not None:
            choices = [_scalar(c) for c in choices]
            if not choices:
                raise _core.InputError(f"space: {key}: no choices")
            for c in choices:
                if c is not None and not isinstance(c, (bool, int, float, str)):
                    raise _core.InputError(
                        f"space: {key}: choice {c!r} is not a bool, int, float or str "
                        "(give a label and a \"format\" function that maps it)")
            distribution = CategoricalDistribution(choices)
        else:
            lo, hi = _scalar(numeric["from"]), _scalar(numeric["to"])
            step = _scalar(numeric.get("step"))
            log = numeric.get("log", False)
            for name, v in (("from", lo), ("to", hi)) + ((("step", step),) if step is not None
                                                          else ()):
                if not _is_number(v) or not math.isfinite(v):
                    raise _core.InputError(f"space: {key}: {name} {v!r} is not a finite number")
            if not isinstance(log, bool):
                raise _core.InputError(f"space: {key}: log is true or false, not {log!r}")
            if hi < lo:
                raise _core.InputError(f"space: {key}: the range {lo!r}..{hi!r} is empty")
            if step is not None and step <= 0:
                raise _core.InputError(f"space: {key}: step {step!r} is not positive")
            if step is not None:
                # Like vary's {from, to, step}: the last value is the last step
                # that does not pass `to`.
                count = math.floor((hi - lo) / step + 1e-9)
                hi = lo + count * step
                if not isinstance(hi, int):  # 0.1 + 3 * 0.2 is 0.7000000000000001
                    hi = float(Decimal(str(lo)) + count * Decimal(str(step)))
            whole = all(isinstance(v, int) for v in (lo, hi, step) if v is not None)
            if whole:
                distribution = IntDistribution(lo, hi, log=log, step=step or 1)
            else:
                distribution = FloatDistribution(float(lo), float(hi), log=log,
                                                 step=None if step is None else float(step))
    except ValueError as error:  # Optuna's own checks (log with a step, log of 0, ...)
        raise _core.InputError(f"space: {key}: {error}") from None
    return _Parameter(key, distribution, fmt)


def _parse_space(space: Any) -> list[_Parameter]:
    if not isinstance(space, Mapping) or not space:
        raise _core.InputError("space: expected a dict {config key: choices or range}, "
                               f"not {space!r}")
    return [_parameter(key, spec) for key, spec in space.items()]


def _check_space(model: Model, params: list[_Parameter]) -> dict:
    """Loads the model with every key at its first value, then at its last,
    so that a bad key or value fails now, named, instead of trial by trial.
    Returns the resolved model (at the first values)."""
    resolved = []
    for end in (0, 1):
        probe = model.copy()
        try:
            for p in params:
                probe.set(p.key, p.config_value(p.ends()[end]))
            resolved.append(probe.validate())
        except (_core.InputError, TypeError, ValueError) as error:
            raise _core.InputError(_which_key(model, params, end, error)) from None
    return resolved[0]


def _which_key(model: Model, params: list[_Parameter], end: int, error: Exception) -> str:
    for p in params:
        value = p.ends()[end]
        try:
            model.copy().set(p.key, p.config_value(value)).validate()
        except (_core.InputError, TypeError, ValueError) as single:
            return f"space: {p.key} = {value!r}: {single}"
    return f"space: {error}"


class TrialResult:
    """What the runs of one trial produced: the objective's argument.

    number   the Optuna trial number.
    params   {key: value} as Optuna drew them.
    config   {key: value} as set in the model (after each key's format).
    summary  DataFrame, this trial's rows of the experiment's summary: group,
             stat, field, n, mean, stddev, ci_low, ci_high, half_width (one
             row per field of every statistic, over the replications).
    runs     DataFrame, this trial's rows of its runs: replication, seed,
             group, stat, field, value.
    series   xarray Dataset of this trial's series: one variable per series
             ("group.stat"), dimensions (replication, time); empty with
             optimize(series=False).
    trial    the live optuna.trial.Trial (e.g. trial.set_user_attr(...)).

    Replication r of every trial ran with the same seed (common random
    numbers), so differences between trials are not blurred by different
    random streams.
    """

    def __init__(self, number: int, params: dict, config: dict, experiment: ExperimentResult,
                 point: int, trial: Any) -> None:
        self.number = number
        self.params = params
        self.config = config
        self.trial = trial
        self._experiment = experiment
        self._point = point
        s = experiment.summary
        self.summary = (s[s["point"] == point]
                        .drop(columns=["point"] + [f for f in experiment.factors
                                                   if f in s.columns])
                        .reset_index(drop=True))
        r = experiment.runs
        self.runs = (r[r["point"] == point]
                     .drop(columns=["point"] + [f for f in experiment.factors
                                                if f in r.columns])
                     .reset_index(drop=True))

    def value(self, stat: str, what: str = "mean") -> float:
        """A summary figure: stat is "group.stat.field" ("group.stat" means
        its field mean), what one of n, mean, stddev, ci_low, ci_high,
        half_width. value("queue.wait.mean") is the mean over the
        replications of each run's mean wait."""
        group, name, field = _split_stat(stat)
        s = self.summary
        row = s[(s["group"] == group) & (s["stat"] == name) & (s["field"] == field)]
        if row.empty:
            raise KeyError(f"no statistic {group}.{name}.{field} in the summary (it has "
                           f"{sorted(set(s['group'] + '.' + s['stat']))})")
        return float(row[what].iloc[0])

    def values(self, stat: str) -> np.ndarray:
        """The per-replication values of "group.stat.field", by replication."""
        group, name, field = _split_stat(stat)
        r = self.runs
        rows = r[(r["group"] == group) & (r["stat"] == name) & (r["field"] == field)]
        if rows.empty:
            raise KeyError(f"no statistic {group}.{name}.{field} in the runs")
        return rows.sort_values("replication")["value"].to_numpy(dtype=float)

    @property
    def series(self):
        data = self._experiment.series
        if "point" not in data.dims:
            return data
        return data.sel(point=self._point).drop_vars("point")

    def __repr__(self) -> str:
        return f"<pydsim.TrialResult number={self.number} params={self.params}>"


class OptimizeResult:
    """What optimize() found.

    best_params  {key: value} of the best complete trial, as Optuna drew them.
    best_config  the same as config values (after each key's format).
    best_value   its objective value.
    best_trial   its optuna FrozenTrial.
    trials       DataFrame, one row per trial by number: number, batch,
                 state (COMPLETE, FAIL, ...), value, one column per space
                 key, fail_reason.
    study        the optuna Study (with storage=, it lives on there).

    best_* is the best value observed; with noisy objectives it flatters
    (the least lucky trial is rarely the best), so look at the trials near
    it too.
    """

    def __init__(self, study: Any, params: list[_Parameter]) -> None:
        self.study = study
        self._params = params
        self.trials = _trials_frame(study, params)
        complete = self.trials[self.trials["state"] == "COMPLETE"]
        if complete.empty:
            self.best_trial = self.best_params = self.best_config = self.best_value = None
            return
        self.best_trial = study.best_trial
        self.best_params = dict(self.best_trial.params)
        self.best_value = float(self.best_trial.value)
        self.best_config = {p.key: p.config_value(self.best_params[p.key])
                            for p in params if p.key in self.best_params}

    def __repr__(self) -> str:
        return (f"<pydsim.OptimizeResult trials={len(self.trials)} "
                f"best_value={self.best_value} best_params={self.best_params}>")


def _trials_frame(study: Any, params: list[_Parameter]) -> pd.DataFrame:
    rows = []
    for t in study.get_trials(deepcopy=False):
        row = {"number": t.number, "batch": t.user_attrs.get(_BATCH_ATTR),
               "state": t.state.name, "value": t.value if t.values is not None else math.nan}
        for p in params:
            row[p.key] = t.params.get(p.key)
        row[_FAIL_ATTR] = t.user_attrs.get(_FAIL_ATTR, "")
        rows.append(row)
    columns = ["number", "batch", "state", "value"] + [p.key for p in params] + [_FAIL_ATTR]
    return pd.DataFrame(rows, columns=columns)


def _sampler_seed(seed: int, done: int) -> int:
    """The sampler's seed for the batch that starts after `done` trials: a
    function of the two only, so a resumed study asks what an uninterrupted
    one would."""
    return int(np.random.SeedSequence([seed % 2**64, done]).generate_state(1)[0])


def _make_sampler(sampler: Any, seed: int) -> Any:
    if sampler is None:
        # multivariate: draws the keys jointly, so that it finds optima
        # along a ridge (servers x speed) that key-by-key TPE misses;
        # constant_liar: trials asked but not yet told count as bad ones,
        # so that a batch spreads out instead of asking one point many
        # times. Optuna 3.1 calls both options experimental.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.samplers.TPESampler(seed=seed, multivariate=True, constant_liar=True)
    made = sampler(seed)
    if not isinstance(made, optuna.samplers.BaseSampler):
        raise TypeError(f"sampler: the function returned {type(made).__name__}, "
                        "not an Optuna sampler")
    return made


class _QuietOptuna:
    """Optuna logs each study it creates at INFO; keep it at WARNING or
    above for the call, then restore."""

    def __enter__(self):
        self._old = optuna.logging.get_verbosity()
        optuna.logging.set_verbosity(max(self._old, optuna.logging.WARNING))

    def __exit__(self, *exc):
        optuna.logging.set_verbosity(self._old)


def _progress_printer(stream=None) -> Callable[[dict], None]:
    stream = stream or sys.stderr

    def show(p: dict) -> None:
        best = "none yet" if p["best_value"] is None else f"{p['best_value']:.6g}"
        stream.write(f"\rdsim: {p['trials_done']} of {p['n_trials']} trials, batch "
                     f"{p['batch']}, best {best}, {p['wall_seconds']:.1f} s")
        stream.flush()

    return show


class _Batch:
    """One batch of trials and the experiment that evaluates them.

    members: (number, params, live optuna Trial) of every trial of the
    batch, by number; pending: the numbers of those still to tell (a
    resumed batch tells only the trials an interruption left running)."""

    def __init__(self, index: int, members: list[tuple[int, dict, Any]],
                 pending: set[int]) -> None:
        self.index = index
        self.members = members
        self.pending = pending


def _run_batch(batch: _Batch, model: Model, params: list[_Parameter], objective: Callable,
               study: Any, replications: int, seed: int, workers: int, out: str | None,
               series: bool) -> None:
    """Runs one experiment holding every distinct configuration of the
    batch as a design point, then calls the objective and tells the
    pending trials, in order."""
    configs: list[tuple] = []
    config_of: dict[int, int] = {}
    reasons: dict[int, str] = {}
    for number, trial_params, _ in batch.members:
        try:
            config = tuple(p.config_value(trial_params[p.key]) for p in params)
        except Exception as error:  # a format function that fails
            reasons[number] = f"format: {type(error).__name__}: {error}"
            continue
        if config not in configs:
            configs.append(config)
        config_of[number] = configs.index(config)

    result, point_of, refused = None, {}, {}
    if configs:
        directory = None
        if out is not None and batch.index >= 0:
            directory = os.path.join(out, f"batch-{batch.index:04d}")
        result, point_of, refused = _experiment_of(model, params, configs, replications,
                                                   seed, workers, directory, series)

    for number, trial_params, trial in batch.members:
        if number not in batch.pending:
            continue
        reason = reasons.get(number) or refused.get(config_of.get(number))
        value = None
        if reason is None:
            point = point_of[config_of[number]]
            row = result.points[result.points["point"] == point].iloc[0]
            if row["failed"]:
                first = next(f for f in result.failures if f["point"] == point)
                reason = (f"{row['failed']} of {row['replications']} runs failed; replication "
                          f"{first['replication']}: {first['message']}")
        if reason is None:
            config = dict(zip((p.key for p in params), configs[config_of[number]]))
            try:
                value = float(objective(TrialResult(number, dict(trial_params), config, result,
                                                    point, trial)))
                if math.isnan(value):
                    reason = "the objective returned nan"
            except Exception as error:
                reason = f"the objective raised {type(error).__name__}: {error}"
        if reason is None:
            study.tell(trial, value)
        else:
            trial.set_user_attr(_FAIL_ATTR, reason)
            study.tell(trial, state=TrialState.FAIL)
            warnings.warn(f"pydsim.optimize: trial {number} failed: {reason}", RuntimeWarning)


def _experiment_of(model: Model, params: list[_Parameter], configs: list[tuple],
                   replications: int, seed: int, workers: int, directory: str | None,
                   series: bool) -> tuple[ExperimentResult | None, dict[int, int],
                                          dict[int, str]]:
    """Runs the configurations as the design points of one experiment.
    Returns the experiment, {configuration: its point there}, and
    {configuration: why} for those the model refuses (left out; the rest
    run)."""
    refused: dict[int, str] = {}
    keep = list(range(len(configs)))
    while keep:
        vary = {p.key: [configs[k][j] for k in keep] for j, p in enumerate(params)}
        resume = directory is not None and os.path.exists(os.path.join(directory,
                                                                        "runs.journal"))
        try:
            result = experiment(model, vary=vary, replications=replications, design="points",
                                seed=seed, workers=workers, out=directory, resume=resume,
                                series=series)
            return result, {k: point for point, k in enumerate(keep)}, refused
        except _core.InputError:
            # Which configurations does the model refuse? If none, the
            # error is not theirs.
            found = {}
            for k in keep:
                probe = model.copy()
                for p, v in zip(params, configs[k]):
                    probe.set(p.key, v)
                try:
                    probe.validate()
                except _core.InputError as error:
                    found[k] = f"the model refuses it: {error}"
            if not found:
                raise
            refused.update(found)
            keep = [k for k in keep if k not in found]
    return None, {}, refused


def optimize(model: Model | str | os.PathLike | Mapping, space: Mapping,
             objective: Callable[[TrialResult], float], n_trials: int = 50,
             replications: int = 10, seed: int | None = None, sampler: Any = None,
             batch: int | None = None, workers: int = 0, direction: str = "minimize",
             storage: Any = None, study_name: str | None = None,
             out: str | os.PathLike | None = None,
             progress: bool | Callable[[dict], None] | None = None,
             series: bool = True) -> OptimizeResult:
    """Searches the space for the parameters that minimise (or maximise) the
    objective, with Optuna asking and the experiment engine evaluating a
    batch of trials at a time, in parallel; returns an OptimizeResult.

    model: a Model, a config path or a dict.
    space: {config key (as --set takes it): where its values come from}:
      [a, b, c] or {"choices": [a, b, c]}: one of these (bool, int, float,
          str; a tuple is choices too: (0.5, 2.0) is two values, not a range);
      range(1, 7): the ints 1..6;
      {"from": a, "to": b}: a..b, ints when both ends are ints, floats
          otherwise; "step": s keeps to a, a+s, ... up to b; "log": True
          draws on a log scale (a > 0, no step for floats);
      each dict may add "format": a str.format template or a function
          making the config value from the drawn one, e.g.
          {"from": 0.5, "to": 2.0, "format": "exp(rate={})"}.
    objective: a function of one TrialResult (that trial's summary, runs,
      series, params and config; see TrialResult) returning a float. An
      exception it raises, a nan, or a run of the trial that failed marks
      the trial FAIL (why: the trial's user attribute "fail_reason", the
      trials table, a RuntimeWarning) and the study goes on; if every trial
      fails, optimize raises RunError.
    n_trials: the trials the study should hold in the end, those already in
      storage included. replications: runs per trial.
    seed: runs and sampler derive from it (default: the model's
      simulation.seed). Replication r of every trial runs with the same
      seed (common random numbers).
    sampler: None for TPE (multivariate, with constant_liar so that the
      trials of a batch spread out), or a function seed -> Optuna sampler
      (any sampler: lambda s: optuna.samplers.CmaEsSampler(seed=s)). It is
      called once per batch with a seed derived from `seed` and the number
      of trials asked so far, so that the study is the same given the seed,
      and a resumed study continues as an uninterrupted one would. An
      Optuna sampler object is used as it is, for the whole call (the
      study then depends on its own seed, and a resume does not replay).
    batch: trials asked per experiment (default: workers, or the cores);
      the study depends on it, so give it to get the same study on another
      machine. workers: the experiment's threads (0: one per core).
    direction: "minimize" or "maximize".
    storage, study_name: an Optuna storage ("sqlite:///study.db") and the
      study's name there (default "pydsim"); an existing study is resumed:
      its seed, replications, space and direction must be the same (its
      batch is kept unless given; the replay of an uninterrupted study is
      exact only with the same batch). Trials an interrupted call left
      running are evaluated again first. Only one call at a time may work
      on a study.
    out: keep each batch's experiment files in out/batch-NNNN and the
      trials table in out/trials.csv. A batch folder that holds a journal
      is resumed (its finished runs are not run again).
    progress: True prints a line per batch to stderr; a function is called
      after each batch with a dict: batch, trials_done, n_trials,
      best_value, best_params, wall_seconds.
    series: False skips collecting the runs' series (TrialResult.series is
      then empty).

    Raises InputError for a bad space (naming the key), a key or value the
    model refuses at either end of its range, or a study that does not
    match; RunError when every trial failed.
    """

    started = time.monotonic()
    if not isinstance(model, Model):
        model = load(model)
    if not callable(objective):
        raise TypeError(f"objective must be a function of a TrialResult, not "
                        f"{type(objective).__name__}")
    if direction not in ("minimize", "maximize"):
        raise _core.InputError(f"direction: \"minimize\" or \"maximize\", not {direction!r}")
    n_trials = int(n_trials)
    replications = int(replications)
    if n_trials < 0:
        raise _core.InputError(f"n_trials: {n_trials} is negative")
    if replications < 1:
        raise _core.InputError(f"replications: {replications}: at least 1")
    if batch is not None and int(batch) < 1:
        raise _core.InputError(f"batch: {batch}: at least 1")
    if sampler is not None and not isinstance(sampler, optuna.samplers.BaseSampler) \
            and not callable(sampler):
        raise TypeError("sampler is None, an Optuna sampler or a function seed -> sampler, "
                        f"not {type(sampler).__name__}")
    params = _parse_space(space)
    resolved = _check_space(model, params)
    if seed is None:
        seed = int(resolved["simulation"]["seed"])
    seed = int(seed)
    if out is not None:
        out = os.fspath(out)
        os.makedirs(out, exist_ok=True)
    show = _progress_printer() if progress is True else (progress or None)

    with _QuietOptuna():
        name = study_name if study_name is not None else ("pydsim" if storage is not None
                                                          else None)
        study = optuna.create_study(storage=storage, study_name=name, direction=direction,
                                    load_if_exists=True, sampler=optuna.samplers.RandomSampler(0))
        settings = {"seed": seed, "replications": replications,
                    "space": [p.describe() for p in params], "direction": direction}
        stored = study.user_attrs.get(_STUDY_ATTR)
        if stored is None:
            batch = int(batch) if batch is not None else (workers if workers > 0
                                                          else os.cpu_count() or 1)
            study.set_user_attr(_STUDY_ATTR, dict(settings, batch=batch))
        else:
            for key, value in settings.items():
                if stored.get(key) != value:
                    raise _core.InputError(
                        f"study {study.study_name!r} in {storage}: it was started with "
                        f"{key} = {json.dumps(stored.get(key))}, not {json.dumps(value)}; "
                        "a resume needs the same settings (or use another study_name)")
            if batch is None:
                batch = int(stored["batch"])
            elif int(batch) != stored["batch"]:
                batch = int(batch)
                study.set_user_attr(_STUDY_ATTR, dict(stored, batch=batch))
        if isinstance(sampler, optuna.samplers.BaseSampler):
            study.sampler = sampler
        distributions = {p.key: p.distribution for p in params}

        def report(index: int) -> None:
            if out is not None:
                _trials_frame(study, params).to_csv(os.path.join(out, "trials.csv"),
                                                    index=False)
            if show is None:
                return
            try:
                best = study.best_trial
                best_value, best_params = float(best.value), dict(best.params)
            except ValueError:
                best_value = best_params = None
            show({"batch": index, "trials_done": asked(), "n_trials": n_trials,
                  "best_value": best_value, "best_params": best_params,
                  "wall_seconds": time.monotonic() - started})

        def asked() -> int:
            return sum(1 for t in study.get_trials(deepcopy=False)
                       if t.state != TrialState.WAITING)

        def run(b: _Batch) -> None:
            _run_batch(b, model, params, objective, study, replications, seed, workers,
                       out, series)
            report(b.index)

        # Trials an interrupted call asked but never told: run their batch
        # again (all of it, so that its journal in out/ still matches) and
        # tell them.
        trials = study.get_trials(deepcopy=False)
        stale = [t for t in trials if t.state == TrialState.RUNNING]
        for index in sorted({t.user_attrs.get(_BATCH_ATTR, -1) for t in stale}):
            members, pending = [], set()
            for t in trials:
                if t.user_attrs.get(_BATCH_ATTR, -1) != index:
                    continue
                live = optuna.trial.Trial(study, t._trial_id)
                if set(t.params) == set(distributions):
                    members.append((t.number, dict(t.params), live))
                    if t.state == TrialState.RUNNING:
                        pending.add(t.number)
                elif t.state == TrialState.RUNNING:
                    # Asked, but stopped before its parameters were all drawn.
                    live.set_user_attr(_FAIL_ATTR, "interrupted before it was drawn")
                    study.tell(live, state=TrialState.FAIL)
            if pending:
                run(_Batch(index, members, pending))

        batches = [t.user_attrs.get(_BATCH_ATTR, -1) for t in study.get_trials(deepcopy=False)]
        index = max(batches, default=-1) + 1
        while asked() < n_trials:
            done = asked()
            if not isinstance(sampler, optuna.samplers.BaseSampler):
                study.sampler = _make_sampler(sampler, _sampler_seed(seed, done))
            members = []
            for _ in range(min(batch, n_trials - done)):
                trial = study.ask(distributions)
                trial.set_user_attr(_BATCH_ATTR, index)
                members.append((trial.number, dict(trial.params), trial))
            run(_Batch(index, members, {m[0] for m in members}))
            index += 1
        if progress is True:
            sys.stderr.write("\n")

        result = OptimizeResult(study, params)
    if n_trials and result.best_trial is None and len(result.trials):
        first = result.trials.iloc[0]
        raise _core.RunError(f"pydsim.optimize: all {len(result.trials)} trials failed; "
                             f"trial {first['number']}: {first[_FAIL_ATTR]}")
    return result
