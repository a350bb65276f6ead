"""Models: a config file or a dict, with --set overrides, validated and run."""

from __future__ import annotations

import json
import math
import os
import sys
from typing import Any, Callable, Iterable, Mapping

from . import _core
from ._result import Result

__all__ = ["Model", "load", "entity_types", "literal", "mpi_comm_address"]


def literal(value: Any) -> str:
    """A Python value as the TOML literal `--set KEY=VALUE` takes.

    bool -> true/false, int -> 12, float -> 0.5 (always with a point or an
    exponent, so it stays a float), str -> a quoted string, list/tuple -> an
    array of these. numpy scalars count as their Python kind.
    """
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):  # numpy scalar
        value = value.item()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        text = repr(value)
        if not any(c in text for c in ".eE"):
            text += ".0"
        return text
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    raise TypeError(f"cannot use {type(value).__name__} {value!r} as a config value "
                    "(bool, int, float, str, or a list of these)")


def mpi_comm_address(comm: Any) -> int:
    """The address of an mpi4py communicator's MPI_Comm (0 for None)."""
    if comm is None:
        return 0
    try:
        from mpi4py import MPI
    except ImportError as error:  # pragma: no cover - mpi4py is a dependency
        raise TypeError("comm= needs mpi4py (Debian: python3-mpi4py)") from error
    if not isinstance(comm, MPI.Comm):
        raise TypeError(f"comm must be an mpi4py communicator, not {type(comm).__name__}")
    if not _core.built_with_mpi:
        raise _core.InputError("comm=: this dsim was built without MPI (DSIM_WITH_MPI=OFF)")
    return MPI._addressof(comm)


def entity_types(plugins: Iterable[str] = ()) -> list[dict]:
    """The entity types `dsim list` shows: name, doc and parameters (name,
    type, default or None when required, doc), sorted by name; with the
    types of the given plugin libraries."""
    return _core.entity_types([os.fspath(p) for p in plugins])


def _progress_printer(stream=None) -> Callable[[dict], None]:
    stream = stream or sys.stderr

    def show(p: dict) -> None:
        end = p["end_time"]
        share = p["now"] / end if end and math.isfinite(end) and end > 0 else 0.0
        stream.write(f"\rdsim: t={p['now']:.6g} of {end:.6g} ({100 * share:.0f}%), "
                     f"{p['events']:,} events, {p['wall_seconds']:.1f} s")
        stream.flush()

    return show


class Model:
    """A model: a config file (or a dict of a config's tables) and the --set
    overrides to apply to it, in order. Nothing is built until it is used:
    each of validate(), plan() and run() builds the model anew, exactly as
    `dsim run` would from the same config and --set flags.
    """

    def __init__(self, source: str | os.PathLike | Mapping, set: Mapping | None = None,
                 plugins: Iterable[str] = ()):
        if isinstance(source, Mapping):
            self._path = ""
            self._json = json.dumps(source, allow_nan=True, default=_json_default)
            self._name = "<dict>"
        elif isinstance(source, (str, os.PathLike)):
            self._path = os.fspath(source)
            self._json = ""
            self._name = self._path
        else:
            raise TypeError("a model is a config path or a dict of its tables, not "
                            f"{type(source).__name__}")
        self._overrides: list[str] = []
        self._plugins = [os.fspath(p) for p in plugins]
        for key, value in (set or {}).items():
            self.set(key, value)

    # ---- building ---------------------------------------------------------------------
    def set(self, key: str, value: Any) -> "Model":
        """Overrides a config value, as `--set KEY=VALUE` does (the same keys:
        "simulation.end_time", "entities.queue.params.servers", ...). A str
        value is a string; to give TOML text as is, use set_raw(). Returns the
        model, so calls chain."""
        self._overrides.append(f"{key}={literal(value)}")
        return self

    def set_raw(self, key: str, text: str) -> "Model":
        """Overrides a config value with TOML text as the command line gives it."""
        self._overrides.append(f"{key}={text}")
        return self

    def copy(self) -> "Model":
        other = Model.__new__(Model)
        other.__dict__.update(self.__dict__)
        other._overrides = list(self._overrides)
        other._plugins = list(self._plugins)
        return other

    @property
    def overrides(self) -> list[str]:
        """The --set overrides, in the order they apply."""
        return list(self._overrides)

    @property
    def path(self) -> str | None:
        return self._path or None

    def _source(self, extra: Iterable[str] = ()) -> dict:
        return {"path": self._path, "json": self._json, "name": self._name,
                "overrides": self._overrides + list(extra), "plugins": self._plugins}

    # ---- asking ---------------------------------------------------------------------
    def validate(self) -> dict:
        """Loads and checks the model as `dsim validate` does; returns the
        resolved model (every default filled in) as a dict. Raises InputError
        with the CLI's message."""
        return json.loads(_core.resolve(self._source()))

    def statistics(self) -> list[dict]:
        """What the model's groups record: group, stat, kind, doc."""
        return _core.statistics(self._source())

    def plan(self, threads: int | None = None, sync: str | None = None,
             partitioner: str | None = None, comm: Any = None) -> dict:
        """How a run would be laid out (engine, threads, partitions, edge cut,
        the partition of every entity, ...), without running it."""
        return _core.plan(self._source(_layout(threads, sync, partitioner)),
                          mpi_comm_address(comm))

    def run(self, threads: int | None = None, sync: str | None = None,
            partitioner: str | None = None, out: str | os.PathLike | None = None,
            progress: bool | Callable[[dict], None] | None = None,
            progress_interval: float = 0.5, progress_series: bool = False,
            check_rollback: bool = False, comm: Any = None,
            all_ranks: bool = False, **overrides: Any) -> Result | None:
        """Runs the model and returns its Result.

        threads, sync, partitioner: as --threads, --sync, --partitioner.
        out: also write the result directory there, as `dsim run --out`
        does (None: nothing is written).
        progress: True prints a progress line to stderr; a function is called
        with a dict of figures (now, end_time, events, wall_seconds, ...)
        about every `progress_interval` seconds, on a thread of its own (it
        takes the GIL); progress_series adds the series so far. An exception
        it raises stops the run and is raised here.
        comm: an mpi4py communicator: the run spans its processes (every one
        calls run()); only rank 0 gets a Result unless all_ranks.
        Other keyword arguments are overrides: end_time=500 is
        simulation.end_time, seed=7 simulation.seed.

        The GIL is released while the engine runs. Ctrl-C stops the run at
        its next quiet point and raises KeyboardInterrupt. Errors:
        InputError (bad model), RunError (a model error at run time, I/O).
        """
        extra = _layout(threads, sync, partitioner)
        for key, value in overrides.items():
            extra.append(f"{_short_key(key)}={literal(value)}")
        callback = None
        if progress is True:
            callback = _progress_printer()
        elif callable(progress):
            callback = progress
        elif progress not in (None, False):
            raise TypeError("progress is True, False, None or a function of one dict")
        raw = _core.run(self._source(extra), os.fspath(out) if out is not None else "",
                        callback, float(progress_interval), bool(progress_series),
                        bool(check_rollback), mpi_comm_address(comm), bool(all_ranks),
                        f"pydsim {_core.version}")
        if progress is True:
            sys.stderr.write("\n")
        if not raw:
            return None
        return Result._from_raw(raw, json.loads(raw["manifest"]), out)

    def __repr__(self) -> str:
        what = self._path if self._path else "<dict>"
        sets = "".join(f", {o!r}" for o in self._overrides)
        return f"pydsim.Model({what!r}{sets})"


_SHORT = {"end_time": "simulation.end_time", "seed": "simulation.seed",
          "threads": "simulation.threads", "sync": "simulation.sync",
          "partitioner": "simulation.partitioner"}


def _short_key(key: str) -> str:
    return _SHORT.get(key, key)


def _layout(threads, sync, partitioner) -> list[str]:
    extra = []
    if threads is not None:
        extra.append(f"simulation.threads={int(threads)}")
    if sync is not None:
        extra.append(f"simulation.sync={literal(str(sync))}")
    if partitioner is not None:
        extra.append(f"simulation.partitioner={literal(str(partitioner))}")
    return extra


def _json_default(value):
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"cannot put {type(value).__name__} {value!r} in a model")


def load(path: str | os.PathLike | Mapping, set: Mapping | None = None,
         plugins: Iterable[str] = ()) -> Model:
    """The model of a TOML config (or of a dict of its tables), with overrides (`set={"simulation.end_time":
    500}`), checked at once: raises InputError with the CLI's message for a
    file or key it cannot use."""
    model = Model(path, set=set, plugins=plugins)
    model.validate()
    return model
