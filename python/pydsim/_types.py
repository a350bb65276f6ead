"""Entity types written in Python.

    import numpy as np
    import pydsim

    Ping = pydsim.payload("counter_py.ping")                 # no fields
    Move = pydsim.payload("walker.move", [("step", np.int32), ("speed", np.float64)])

    @pydsim.entity_type("counter_py", doc="counts pings")
    class Counter:
        state = [("hits", np.uint64), ("last", np.float64)]  # a numpy record
        params = {"period": (1.0, "time between pings")}     # name: (default, doc)

        def __init__(self, setup):                          # once per group
            self.period = setup.param("period")
            self.hits = setup.counter("hits", "pings handled")

        def init(self, state, ctx):                         # at time 0; may send
            ctx.send(ctx.self, Ping, self.period)

        @pydsim.handler(Ping)
        def on_ping(self, state, ping, ctx):
            state.hits += 1
            state.last = ctx.now
            ctx.add(self.hits)
            ctx.send(ctx.self, Ping, self.period)

A type is a class with
  - `state`: its per-entity State, a numpy structured dtype (or the list of
    fields one is made from) of fixed-size fields: booleans, integers,
    floats, and fixed-size arrays of them (("xs", np.float64, (4,))). Every
    entity starts with all bytes zero. Handlers get it as a writable 0-d
    record array over the entity's own bytes: the engine saves, restores and
    checkpoints them, so a type needs no code for optimistic runs.
  - `params` (optional): {name: (default, doc)} with a default of bool, int,
    float or str; pydsim.required(kind, doc) for one without a default
    (kind: bool, int, float, str, or "distribution"); a str default that
    names a distribution ("exp(mean=1)") is a distribution parameter when
    given as pydsim.distribution("exp(mean=1)", doc).
  - `__init__(self, setup)`: once per group: reads parameters
    (setup.param(name)) and declares statistics (setup.counter, tally,
    gauge, histogram), kept as attributes for the handlers.
  - one handler per payload type, marked @pydsim.handler(PayloadType):
    `(self, state, payload, ctx)`; `init(self, state, ctx)` and
    `finish(self, state, ctx)` optionally.
Handlers must keep all that changes in `state`: the engine may run an event,
undo it and run it again (optimistic runs, --check-rollback).

Payloads are declared with pydsim.payload(NAME, FIELDS): a stable name
(what checkpoints record; the id is FNV-1a of it, as for C++ payloads) and
fixed-size fields, at most 32 bytes in all.
"""

from __future__ import annotations

import inspect
import os
import runpy
import threading
from typing import Any, Iterable, Mapping

import numpy as np

from . import _core

__all__ = ["payload", "entity_type", "handler", "required", "distribution", "PayloadType",
           "registered", "load_script"]

MAX_PAYLOAD_BYTES = 32
_ALLOWED_KINDS = "biuf"  # bool, signed, unsigned, float

_lock = threading.Lock()
_types: dict[str, "TypeDef"] = {}       # by registered name, in registration order
_payloads: dict[str, "PayloadType"] = {}  # by name
_scripts: dict[str, list[str]] = {}       # script path -> the type names it registered


class PayloadType:
    """An event payload declared in Python: a stable name and a numpy record."""

    def __init__(self, name: str, dtype: np.dtype):
        self.name = name
        self.dtype = dtype
        self.record = np.dtype((np.record, dtype))  # what handlers get: fields as attributes too
        self.id = _fnv1a32(name)
        self.size = dtype.itemsize

    def __call__(self, **fields) -> np.ndarray:
        """A payload record with these fields (the others zero)."""
        record = np.zeros((), dtype=self.dtype)
        for key, value in fields.items():
            if key not in self.dtype.names:
                raise KeyError(f"payload {self.name} has no field '{key}' "
                               f"(fields: {', '.join(self.dtype.names) or 'none'})")
            record[key] = value
        return record

    def __repr__(self) -> str:
        return f"pydsim.payload({self.name!r}, {self.dtype.descr if self.dtype.names else []})"


def _fnv1a32(text: str) -> int:
    h = 2166136261
    for byte in text.encode("utf-8"):
        h ^= byte
        h = (h * 16777619) & 0xFFFFFFFF
    return h


def _record_dtype(fields: Any, where: str) -> np.dtype:
    """A numpy structured dtype of fixed-size numeric fields, or InputError
    naming `where` and the field."""
    if fields is None:
        fields = []
    try:
        dtype = fields if isinstance(fields, np.dtype) else np.dtype(list(fields), align=True)
    except (TypeError, ValueError) as error:
        raise _core.InputError(f"{where}: not a list of numpy fields (name, dtype[, shape]): "
                               f"{error}") from None
    if dtype.names is None:
        if dtype.itemsize == 0:
            return np.dtype([])
        raise _core.InputError(f"{where}: expected named fields, e.g. [('count', np.int64)], "
                               f"not {dtype}")
    for name in dtype.names:
        if hasattr(np.record, name) or name.startswith("_"):
            raise _core.InputError(
                f"{where}: field '{name}': the name is taken by numpy's records "
                f"(state.{name} would not read the field); choose another")
        field = dtype.fields[name][0]
        base = field.base if field.subdtype is not None else field
        if base.names is not None:
            raise _core.InputError(f"{where}: field '{name}': nested records are not "
                                   "supported (flatten them)")
        if base.kind not in _ALLOWED_KINDS or base.hasobject:
            raise _core.InputError(
                f"{where}: field '{name}' has unsupported type {base} (supported: booleans, "
                "integers, floats, and fixed-size arrays of them)")
    return dtype


def payload(name: str, fields: Iterable | np.dtype | None = None) -> PayloadType:
    """Declares an event payload: a stable name (1 to 64 letters, digits, '.',
    '_', '-'; e.g. "mymodel.infect") and its fields, at most 32 bytes."""
    if not isinstance(name, str) or not _valid_name(name):
        raise _core.InputError(f"payload name {name!r}: 1 to 64 characters from letters, "
                               "digits, '.', '_' and '-' (e.g. \"mymodel.infect\")")
    dtype = _record_dtype(fields, f"payload {name}")
    if dtype.itemsize > MAX_PAYLOAD_BYTES:
        raise _core.InputError(f"payload {name}: {dtype.itemsize} bytes is more than an event "
                               f"carries ({MAX_PAYLOAD_BYTES} bytes)")
    with _lock:
        known = _payloads.get(name)
        if known is not None:
            if known.dtype != dtype:
                raise _core.InputError(f"payload {name}: declared again with other fields "
                                       f"({known.dtype} before, {dtype} now)")
            return known
        p = PayloadType(name, dtype)
        _payloads[name] = p
        return p


def _valid_name(name: str) -> bool:
    return 1 <= len(name) <= 64 and all(c.isascii() and (c.isalnum() or c in "._-")
                                        for c in name)


class _Required:
    def __init__(self, kind, doc):
        self.kind = kind
        self.doc = doc


class _Distribution:
    def __init__(self, default, doc):
        self.default = default
        self.doc = doc


def required(kind: Any, doc: str = "") -> _Required:
    """A parameter without a default: kind is bool, int, float, str or
    "distribution"."""
    return _Required(kind, doc)


def distribution(default: str | None, doc: str = "") -> _Distribution:
    """A distribution parameter ("exp(mean=1)", "uniform(lo=0, hi=2)", ...),
    given to handlers as a function of the entity's random stream:
    setup.param(name) returns a callable `draw(ctx)`."""
    return _Distribution(default, doc)


def handler(payload_type: PayloadType):
    """Marks a method as the handler of `payload_type`'s events."""
    if not isinstance(payload_type, PayloadType):
        raise _core.InputError(f"@pydsim.handler: expected a payload (pydsim.payload(...)), "
                               f"not {payload_type!r}")

    def mark(function):
        function._pydsim_payload = payload_type
        return function

    return mark


_KINDS = {bool: "bool", int: "int", float: "real", str: "string", "bool": "bool", "int": "int",
          "float": "real", "real": "real", "str": "string", "string": "string",
          "distribution": "distribution"}


class TypeDef:
    """What the engine needs of a Python type (built by @entity_type)."""

    def __init__(self, name: str, cls: type, doc: str):
        self.name = name
        self.cls = cls
        self.doc = doc
        where = f"entity type {name} (class {cls.__qualname__})"
        self.where = where
        self.state = _record_dtype(getattr(cls, "state", None), f"{where}: state")
        self.state_record = np.dtype((np.record, self.state))
        self.params = self._params(getattr(cls, "params", None) or {}, where)
        self.handlers = []  # (PayloadType, method name)
        seen = {}
        for attr, value in inspect.getmembers(cls):
            p = getattr(value, "_pydsim_payload", None)
            if p is None:
                continue
            if p.name in seen:
                raise _core.InputError(f"{where}: two handlers for payload {p.name} "
                                       f"({seen[p.name]} and {attr})")
            seen[p.name] = attr
            self._check_arity(value, attr, 4, "(self, state, payload, ctx)")
            self.handlers.append((p, attr))
        self.handlers.sort(key=lambda h: h[0].name)
        self.init = "init" if callable(getattr(cls, "init", None)) else None
        self.finish = "finish" if callable(getattr(cls, "finish", None)) else None
        for hook in (self.init, self.finish):
            if hook:
                self._check_arity(getattr(cls, hook), hook, 3, "(self, state, ctx)")
        # @pydsim.jit methods (compiled by Numba, per group: pydsim._jit).
        methods = [m for _, m in self.handlers] + [h for h in (self.init, self.finish) if h]
        compiled = [bool(getattr(getattr(cls, m), "_pydsim_jit", False)) for m in methods]
        self.jit = any(compiled)
        self.all_jit = bool(methods) and all(compiled)
        if self.jit:
            from . import _jit
            _jit.check_type(self)  # Numba present, signatures right: at load time
        # Handlers of other names: a likely mistake (on_ping without @handler).
        if not self.handlers and not self.init:
            raise _core.InputError(f"{where}: no handlers (mark each with "
                                   "@pydsim.handler(PayloadType)) and no init()")

    def _check_arity(self, function, name, count, shape):
        try:
            sig = inspect.signature(function)
        except (TypeError, ValueError):
            return
        params = [p for p in sig.parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        if len(params) != count and not any(p.kind == p.VAR_POSITIONAL
                                            for p in sig.parameters.values()):
            raise _core.InputError(f"{self.where}: {name} takes {shape}, not "
                                   f"({', '.join(p.name for p in params)})")

    def compile(self, instance, group: str) -> tuple:
        """For the engine, once per group (its constructed instance and its
        name): (the group's constants as bytes, the address of each
        handler's compiled code or 0, init's, finish's, what keeps the code
        loaded)."""
        from . import _jit
        return _jit.compile_type(self, instance, group)

    @staticmethod
    def _params(spec: Mapping, where: str) -> list:
        out = []
        if not isinstance(spec, Mapping):
            raise _core.InputError(f"{where}: params: expected {{name: (default, doc)}}")
        for name, value in spec.items():
            at = f"{where}: parameter '{name}'"
            if isinstance(value, _Required):
                kind = _KINDS.get(value.kind)
                if kind is None:
                    raise _core.InputError(f"{at}: unknown kind {value.kind!r} (bool, int, "
                                           "float, str or 'distribution')")
                out.append((name, kind, None, value.doc))
                continue
            if isinstance(value, _Distribution):
                out.append((name, "distribution", value.default, value.doc))
                continue
            if isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], str):
                default, doc = value
            else:
                default, doc = value, ""
            if hasattr(default, "item"):
                default = default.item()
            kind = _KINDS.get(type(default))
            if kind is None:
                raise _core.InputError(f"{at}: default {default!r} is a "
                                       f"{type(default).__name__} (bool, int, float or str)")
            out.append((name, kind, default, doc))
        return out


def entity_type(name: str, doc: str = ""):
    """Registers the decorated class as the entity type `name` (what a
    config's `type = "..."` names). Returns the class unchanged."""
    if not isinstance(name, str) or not name:
        raise _core.InputError(f"@pydsim.entity_type: a name, not {name!r}")

    def register(cls):
        definition = TypeDef(name, cls, doc or (inspect.getdoc(cls) or "").split("\n")[0])
        with _lock:
            known = _types.get(name)
            if known is not None and known.cls is not cls and (
                    known.cls.__module__, known.cls.__qualname__) != (cls.__module__,
                                                                      cls.__qualname__):
                raise _core.InputError(f"entity type {name}: registered already (by class "
                                       f"{known.cls.__module__}.{known.cls.__qualname__})")
            _types[name] = definition
        cls._pydsim_type = definition
        return cls

    return register


def registered() -> list[TypeDef]:
    """Every Python type registered in this interpreter, in order."""
    with _lock:
        return list(_types.values())


def load_script(path: str) -> list[str]:
    """Runs a plugin script once per interpreter (its decorators register
    its types); the names of the types it registered."""
    key = os.path.realpath(path)
    with _lock:
        if key in _scripts:
            return _scripts[key]
        before = set(_types)
    if not os.path.exists(path):
        raise _core.InputError(f"plugin '{path}': no such file")
    try:
        runpy.run_path(path, run_name=f"pydsim_plugin_{len(_scripts)}")
    except _core.Error:
        raise
    except SyntaxError as error:
        raise _core.InputError(f"plugin '{path}': {error.msg} (line {error.lineno})") from None
    except Exception as error:
        import traceback
        raise _core.InputError(f"plugin '{path}': {type(error).__name__}: {error}\n"
                               + "".join(traceback.format_exc())) from None
    with _lock:
        names = [n for n in _types if n not in before]
        _scripts[key] = names
        return names
