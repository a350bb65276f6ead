"""@pydsim.jit: handlers compiled by Numba, run without the GIL on every thread.

    import numpy as np
    import pydsim

    Ping = pydsim.payload("counter.ping", [("hops", np.int32)])

    @pydsim.entity_type("counter_jit")
    class Counter:
        state = [("hits", np.int64), ("last", np.float64)]
        params = {"period": (1.0, "time between pings")}

        def __init__(self, setup):                  # plain Python, once per group
            self.period = setup.param("period")
            self.hits = setup.counter("hits")

        @pydsim.jit
        def init(self, state, ctx):
            ctx.send(ctx.self, Ping, self.period, hops=0)

        @pydsim.jit
        @pydsim.handler(Ping)
        def on_ping(self, state, ping, ctx):
            state.hits += 1
            state.last = ctx.now
            ctx.add(self.hits)
            target = ctx.group_first + ctx.rng.below(ctx.group_size)
            ctx.send(target, Ping, self.period * ctx.rng.exponential(1.0), hops=ping.hops + 1)

The same method bodies run as plain Python without @pydsim.jit. A type
whose handlers, init and finish are all compiled runs on every thread (and
plans one per core); one that mixes compiled and plain methods plans one
thread (its plain methods hold the GIL). `@pydsim.jit` on a class marks
all its handlers, init and finish (on a subclass of a plain type: both
modes from one source):

    @pydsim.entity_type("counter_jit")
    @pydsim.jit
    class CounterJit(Counter): pass

What compiled code sees (Numba nopython mode):
  - self: the group's constants, read-only: every attribute __init__ set to
    a bool, int or float (numpy scalars too), every statistic
    (setup.counter, tally, gauge, histogram) and every distribution
    parameter (setup.param of a pydsim.distribution: self.pause(ctx) draws
    from the entity's stream, the same numbers as plain Python;
    self.pause.mean). Other attributes (strings, lists, ...) are not
    available. Methods of the class other than handlers may be called
    (self.helper(state, ctx)): they are compiled too.
  - state: the entity's State record over the engine's bytes (state.hits
    += 1 writes them). Prefer signed integers: Numba types uint64 + int as
    float64.
  - payload: the event's record (read it; do not write it).
  - ctx: now, self, index, group_first, group_size, entity_count (ints),
    group (the group's name: a string constant of the code), first_of(name)
    and size_of(name) (a string literal or a computed str; an unknown
    group fails the run as in plain Python), neighbours, neighbour_weights
    (new numpy arrays), rng (the context itself) and the draws uniform(),
    uniform(lo, hi), uniform_pos(), exponential(mean), normal(mean=0,
    stddev=1), lognormal(mu, sigma), bernoulli(p), below(n), integer(lo,
    hi), poisson(mean), bits() -- the same streams as plain Python, draw
    for draw; add(counter, amount=1),
    value(counter), record(tally or histogram, value), set(gauge, level),
    level(gauge), fail(message) (a string literal, or an int code), and
    send(target, PayloadType, delay, record=None, field=value, ...): the
    payload type is a module-level pydsim.payload(...); record= is a
    record of that payload's layout (the payload received, say: forwarded
    as it is), copied first; fields are given by keyword (omitted ones are
    zero, or the record's), as plain Python allows too; fields that are
    arrays cannot be set from compiled code (record= carries them).
An exception a compiled method raises (ZeroDivisionError, ...) stops the run
with a RunError naming the entity, the time and the method (Numba keeps no
traceback: run the type without @pydsim.jit to see one).

When compiled: when a model that uses the type is loaded (pydsim.load,
dsim validate, dsim run: before anything runs), once per group, since self's
layout is the group's: a method Numba cannot type fails the load with an
InputError naming the config entry, the class, the method and Numba's
reason (or saying that Numba cannot be imported). Groups whose constants
have the same types share the code, unless a method reads ctx.group (a
constant of the code): then each group name has its own (found by a first
compile that stops at ctx.group). A plugin's compiled types that the model
does not use cost nothing: Numba is not even imported. Numba's compile
takes about half a second per type, plus half a second for Numba's first
compile in a process; the code lives as long as the interpreter.
"""

from __future__ import annotations

import ctypes
import importlib
import inspect
import re
import threading
import types as pytypes
import warnings

import numpy as np

from . import _core

__all__ = ["jit", "check_type", "compile_type"]


# ---- the decorator (no Numba needed) ------------------------------------------------------

def jit(target):
    """Marks a method (a handler, init, finish) to be compiled by Numba, or
    every such method of a class. Returns a marked copy of a function (so
    `on_x = pydsim.jit(Base.on_x)` leaves Base's method plain) and the
    class itself, its methods replaced by marked copies."""
    if isinstance(target, type):
        if "_pydsim_type" in target.__dict__:
            raise _core.InputError(f"@pydsim.jit on class {target.__qualname__}: put it below "
                                   "@pydsim.entity_type (the type is registered already)")
        for name, value in inspect.getmembers(target):
            if inspect.isfunction(value) and (getattr(value, "_pydsim_payload", None) is not None
                                              or name in ("init", "finish")):
                setattr(target, name, _marked(value))
        return target
    if not inspect.isfunction(target):
        raise _core.InputError(f"@pydsim.jit: expected a method (def ...) or a class, not "
                               f"{target!r}")
    return _marked(target)


def _marked(function):
    copy = pytypes.FunctionType(function.__code__, function.__globals__, function.__name__,
                                function.__defaults__, function.__closure__)
    copy.__kwdefaults__ = function.__kwdefaults__
    copy.__dict__.update(function.__dict__)
    copy.__qualname__ = function.__qualname__
    copy.__module__ = function.__module__
    copy.__doc__ = function.__doc__
    copy._pydsim_jit = True
    return copy


def _is_jit(function) -> bool:
    return bool(getattr(function, "_pydsim_jit", False))


# ---- what the engine calls ----------------------------------------------------------------

_compile_lock = threading.RLock()


def check_type(typedef) -> None:
    """At registration: the marked methods are plain functions. (Numba is
    imported, and compiles them, per group when a model using the type is
    loaded: compile_type. So a plugin's plain types load without Numba.)"""
    for name in _jit_methods(typedef):
        if not inspect.isfunction(getattr(typedef.cls, name)):
            raise _core.InputError(f"{typedef.where}: @pydsim.jit method {name} is not a plain "
                                   "function")


def compile_type(typedef, instance, group: str | None = None) -> tuple:
    """Once per group (its instance and name), at build: (the group's
    constants as bytes, each handler's code address or 0 where it is plain
    Python, init's, finish's, what keeps the code)."""
    support = _numba_support(typedef.where)
    layout = _layout(instance)
    code = _compiled(support, typedef, layout, group)
    handlers = [code.addresses.get(method, 0) for _, method in typedef.handlers]
    init = code.addresses.get(typedef.init, 0) if typedef.init else 0
    finish = code.addresses.get(typedef.finish, 0) if typedef.finish else 0
    return layout.values.tobytes(), handlers, init, finish, code


def _jit_methods(typedef) -> list[str]:
    names = [m for _, m in typedef.handlers] + [h for h in (typedef.init, typedef.finish) if h]
    return [n for n in names if _is_jit(getattr(typedef.cls, n))]


# ---- the group's constants ----------------------------------------------------------------

class _Layout:
    """The record `self` is in compiled code: the instance's numbers,
    statistics and distributions (kind: None for a number, "distribution"
    for a distribution's bytes), and what was left out (name -> Python type
    name, for error messages)."""

    def __init__(self, fields, values, skipped):
        self.fields = fields  # [(name, numpy dtype, statistic kind or None)]
        self.skipped = skipped
        self.dtype = np.dtype([(n, d) for n, d, _ in fields], align=True) if fields \
            else np.dtype([])
        self.values = np.zeros((), self.dtype)
        for (name, _, _), value in zip(fields, values):
            self.values[name] = value
        self.key = (tuple((n, d.str, k) for n, d, k in fields), tuple(sorted(skipped.items())))


def _statistic_kind(value):
    return value.kind if isinstance(value, _core.Statistic) else None


def _layout(instance) -> _Layout:
    fields, values, skipped = [], [], {}
    for name, value in getattr(instance, "__dict__", {}).items():
        kind = _statistic_kind(value)
        if kind is not None:
            fields.append((name, np.dtype(np.uint32), kind))
            values.append(value.index)
        elif isinstance(value, _core.Distribution) and hasattr(value, "_bytes"):
            raw = value._bytes  # a dsim::Distribution, 8-aligned: dsim_jit_sample reads it
            fields.append((name, np.dtype((np.uint64, (len(raw) // 8,))), "distribution"))
            values.append(np.frombuffer(raw, np.uint64))
        elif isinstance(value, (bool, np.bool_)):
            fields.append((name, np.dtype(np.bool_), None))
            values.append(bool(value))
        elif isinstance(value, (np.integer, np.floating)):
            fields.append((name, value.dtype, None))
            values.append(value)
        elif isinstance(value, int):
            if -2**63 <= value < 2**63:
                fields.append((name, np.dtype(np.int64), None))
            elif 0 <= value < 2**64:
                fields.append((name, np.dtype(np.uint64), None))
            else:
                skipped[name] = "int too large for 64 bits"
                continue
            values.append(value)
        elif isinstance(value, float):
            fields.append((name, np.dtype(np.float64), None))
            values.append(value)
        else:
            skipped[name] = type(value).__name__
    return _Layout(fields, values, skipped)


# ---- compiling ---------------------------------------------------------------------------

class _Code:
    """The compiled methods of one type for one layout of self: their
    addresses by method name (the cfuncs are kept here)."""

    def __init__(self):
        self.addresses = {}
        self.cfuncs = []


class _NeedsGroup(Exception):
    """A method reads ctx.group: the type's code is compiled per group name."""


_PER_GROUP = object()  # in a type's cache: this layout's code is per group name


def _compiled(support, typedef, layout, group) -> _Code:
    """The type's code for this layout of self, shared by the groups that
    have it, unless a method reads ctx.group (a constant of the code):
    then per group name."""
    with _compile_lock:
        cache = typedef.__dict__.setdefault("_jit_cache", {})
        code = cache.get(layout.key)
        if code is None:
            try:
                code = cache[layout.key] = support.compile(typedef, layout, None)
            except _NeedsGroup:
                cache[layout.key] = code = _PER_GROUP
        if code is _PER_GROUP:
            if group is None:
                raise _core.InputError(f"{typedef.where}: {_NEEDS_GROUP} (this pydsim's "
                                       "_core gives compile no group name)")
            code = cache.get((layout.key, group))
            if code is None:
                code = cache[(layout.key, group)] = support.compile(typedef, layout, group)
        return code


_support_lock = threading.Lock()
_support = None


def _numba_support(where: str):
    """The Numba side (built once: importing Numba takes a while)."""
    global _support
    with _support_lock:
        if _support is None:
            try:
                with warnings.catch_warnings():  # llvmlite's DeprecationWarning on import
                    warnings.simplefilter("ignore", DeprecationWarning)
                    importlib.import_module("numba")
            except Exception as error:  # noqa: BLE001 - ImportError and its broken cousins
                raise _core.InputError(f"{where}: @pydsim.jit needs Numba (Debian: "
                                       f"python3-numba), which cannot be imported: {error}") \
                    from None
            _support = _NumbaSupport()
        return _support


_OWN = "pydsim: "  # marks our own typing errors inside Numba's messages
_NEEDS_GROUP = "ctx.group: the group's name is not known here"  # see _NeedsGroup


def _numba_reason(error) -> str:
    """Numba's message, shortened: our own typing errors with where they
    arose, or Numba's text without its pipeline header, 'During:' trail
    and repeated paragraphs."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(error))
    lines = [l.rstrip() for l in text.splitlines()
             if not l.startswith(("Failed in nopython mode pipeline", "During:",
                                  "Enable logging at debug level"))]
    paragraphs, current = [], []
    for line in lines + [""]:
        if line.strip():
            current.append(line)
        elif current:
            if current not in paragraphs:
                paragraphs.append(current)
            current = []
    own = []
    for match in re.finditer(re.escape(_OWN) + r"(.*)", text):
        if match.group(1).strip() not in own:
            own.append(match.group(1).strip())
    if own:
        where = [p for p in paragraphs if p[0].lstrip().startswith('File "')]
        return "\n".join(own) + ("\n\n" + "\n".join(where[-1]) if where else "")
    return "\n\n".join("\n".join(p) for p in paragraphs)


class _NumbaSupport:
    """Numba types for the context, payload types, statistics and self,
    and the compiler of a type's methods."""

    def __init__(self):
        import llvmlite.binding as llvm
        import numba
        from llvmlite import ir
        from numba import types
        from numba.core import cgutils, errors
        from numba.core.imputils import (lower_builtin, lower_cast, lower_constant,
                                         lower_getattr, lower_getattr_generic)
        from numba.core.typing.templates import AttributeTemplate, bound_function
        from numba.extending import (infer_getattr, intrinsic, models, overload_attribute,
                                     overload_method, register_model, typeof_impl)

        from ._types import PayloadType

        self.numba, self.types = numba, types
        self.overload_method = overload_method
        self.register_model, self.models = register_model, models

        def refuse(message):
            """A typing error of ours (marked: _numba_reason puts it first)."""
            return errors.TypingError(_OWN + message)

        # The C functions of the bridge (python/src/types.cpp), by name.
        library = ctypes.CDLL(_core.__file__)
        self.symbols = set()
        for name in _C_FUNCTIONS:
            function = getattr(library, name, None)
            if function is None:
                continue
            llvm.add_symbol(name, ctypes.cast(function, ctypes.c_void_p).value)
            self.symbols.add(name)
        missing = [n for n in _C_FUNCTIONS if n not in self.symbols and n not in _OPTIONAL]
        if missing:
            raise _core.InputError("@pydsim.jit: this pydsim's _core module lacks "
                                   + ", ".join(missing))
        i8p = ir.IntType(8).as_pointer()

        # -- numba types --
        class ContextType(types.Type):
            """The handler's context; `group`: its group's name, a constant
            of the code (None where the code is shared by groups)."""

            def __init__(self, group=None):
                self.group = group
                super().__init__("pydsim.Context" if group is None
                                 else f"pydsim.Context[{group}]")

        class PayloadRef(types.Type):
            """A pydsim.payload(...) as a compile-time constant."""

            def __init__(self, payload):
                self.payload = payload
                self.fields = []  # (name, numba scalar type or None for arrays, offset)
                for field in payload.dtype.names or ():
                    fdt, offset = payload.dtype.fields[field][:2]
                    scalar = None if fdt.subdtype is not None else numba.from_dtype(fdt)
                    self.fields.append((field, scalar, offset))
                super().__init__(f"pydsim.payload({payload.name})")

        class StatisticType(types.Type):
            def __init__(self, kind):
                self.kind = kind
                super().__init__(f"pydsim.{kind}")

        class DistributionType(types.Type):
            """A distribution parameter on self: a pointer to its bytes
            among the group's constants."""

            def __init__(self):
                super().__init__("pydsim.Distribution")

        class GroupSelf(types.Type):
            """self in compiled code: a pointer to the group's constants."""

            def __init__(self, typename, layout):
                self.typename = typename
                self.fields = {}
                for name, dtype, kind in layout.fields:
                    if kind == "distribution":
                        ftype = distribution_type
                    else:
                        ftype = statistic_types[kind] if kind else numba.from_dtype(dtype)
                    self.fields[name] = (ftype, layout.dtype.fields[name][1])
                self.skipped = dict(layout.skipped)
                super().__init__(f"pydsim.self[{typename}]{layout.key!r}")

        statistic_types = {k: StatisticType(k) for k in ("counter", "tally", "gauge", "histogram")}
        distribution_type = DistributionType()
        context_type = ContextType()
        self.ContextType, self.GroupSelf = ContextType, GroupSelf
        self.PayloadRef = PayloadRef
        self._self_classes = {}
        self._as_context = {}

        register_model(ContextType)(models.OpaqueModel)
        register_model(PayloadRef)(models.OpaqueModel)
        register_model(GroupSelf)(models.OpaqueModel)
        register_model(DistributionType)(models.OpaqueModel)

        @register_model(StatisticType)
        class StatisticModel(models.PrimitiveModel):
            def __init__(self, dmm, fe_type):
                super().__init__(dmm, fe_type, ir.IntType(32))

        @lower_cast(StatisticType, types.uint32)
        def statistic_index(context, builder, fromty, toty, value):
            return value  # the index itself (i32)

        payload_refs = {}

        @typeof_impl.register(PayloadType)
        def typeof_payload(value, c):
            ref = payload_refs.get(value.name)
            if ref is None:
                ref = payload_refs[value.name] = PayloadRef(value)
            return ref

        @lower_constant(PayloadRef)
        def payload_constant(context, builder, ty, value):
            return context.get_dummy_value()

        # -- self: fields read from the constants' bytes --
        @infer_getattr
        class SelfAttributes(AttributeTemplate):
            key = GroupSelf

            def generic_resolve(self, typ, attr):
                if attr in typ.fields:
                    return typ.fields[attr][0]
                if attr in typ.skipped:
                    raise refuse(
                        f"self.{attr} is a {typ.skipped[attr]}: compiled code sees only the "
                        "numbers, booleans, statistics and distributions __init__ keeps on "
                        "self")
                return None

        @lower_getattr_generic(GroupSelf)
        def self_getattr(context, builder, typ, value, attr):
            ftype, offset = typ.fields[attr]
            at = builder.gep(value, [ir.Constant(ir.IntType(64), offset)])
            if ftype is distribution_type:
                return at  # the bytes stay where they are
            at = builder.bitcast(at, context.get_data_type(ftype).as_pointer())
            return context.data_model_manager[ftype].load_from_data_pointer(builder, at)

        # -- distribution parameters: self.NAME(ctx) draws, self.NAME.mean --
        @infer_getattr
        class DistributionAttributes(AttributeTemplate):
            key = DistributionType

            @bound_function("pydsim.Distribution.__call__")
            def resolve___call__(self, distribution, args, kws):
                if kws or len(args) != 1 or not isinstance(args[0], ContextType):
                    raise refuse("a distribution parameter takes the context: "
                                 "self.NAME(ctx)")
                return types.float64(args[0])

            def resolve_mean(self, distribution):
                return types.float64

        @lower_builtin(DistributionType, DistributionType, ContextType)
        def lower_sample(context, builder, sig, args):
            distribution, ctx = args
            fnty = ir.FunctionType(ir.DoubleType(), [i8p, i8p])
            fn = cgutils.get_or_insert_function(builder.module, fnty, "dsim_jit_sample")
            return builder.call(fn, [ctx, distribution])

        @lower_getattr(DistributionType, "mean")
        def distribution_mean(context, builder, typ, value):
            fnty = ir.FunctionType(ir.DoubleType(), [i8p])
            fn = cgutils.get_or_insert_function(builder.module, fnty,
                                                "dsim_jit_distribution_mean")
            return builder.call(fn, [value])

        # -- calls into the bridge --
        def extern(name, result, *args, returns=None):
            """An intrinsic calling the C function `name` (result, args: its
            numba types; C stands for any context type), its result cast to
            `returns`."""
            returns = returns or result

            def typing(*actual):
                typed = [t if a is C else a for a, t in zip(args, actual)]

                def codegen(context, builder, sig, values):
                    llvm_result = ir.VoidType() if result is types.void \
                        else context.get_value_type(result)
                    fnty = ir.FunctionType(llvm_result,
                                           [context.get_value_type(a) for a in args])
                    fn = cgutils.get_or_insert_function(builder.module, fnty, name)
                    out = builder.call(fn, values)
                    if result is types.void:
                        return context.get_dummy_value()
                    return context.cast(builder, out, result, returns)

                return returns(*typed), codegen

            return intrinsic(_fixed_arity(len(args), typing))

        C = context_type
        f64, i64, u64, u32, u8 = types.float64, types.int64, types.uint64, types.uint32, types.uint8
        now = extern("dsim_jit_now", f64, C)
        self_id = extern("dsim_jit_self", u32, C, returns=i64)
        index = extern("dsim_jit_index", u64, C, returns=i64)
        group_first = extern("dsim_jit_group_first", u32, C, returns=i64)
        group_size = extern("dsim_jit_group_size", u64, C, returns=i64)
        entity_count = extern("dsim_jit_entity_count", u64, C, returns=i64)
        neighbour_count = extern("dsim_jit_neighbour_count", u64, C, returns=i64)
        neighbour = extern("dsim_jit_neighbour", u32, C, u64)
        neighbour_weight = extern("dsim_jit_neighbour_weight", f64, C, u64)
        add = extern("dsim_jit_add", types.void, C, u32, f64)
        value = extern("dsim_jit_value", f64, C, u32)
        record_tally = extern("dsim_jit_record_tally", types.void, C, u32, f64)
        record_histogram = extern("dsim_jit_record_histogram", types.void, C, u32, f64)
        set_gauge = extern("dsim_jit_set_gauge", types.void, C, u32, f64)
        level = extern("dsim_jit_level", f64, C, u32)
        fail_code = extern("dsim_jit_fail", types.void, C, i64)
        uniform = extern("dsim_jit_uniform", f64, C)
        uniform_range = extern("dsim_jit_uniform_range", f64, C, f64, f64)
        uniform_pos = extern("dsim_jit_uniform_pos", f64, C)
        exponential = extern("dsim_jit_exponential", f64, C, f64)
        normal = extern("dsim_jit_normal", f64, C, f64, f64)
        lognormal = extern("dsim_jit_lognormal", f64, C, f64, f64)
        bernoulli = extern("dsim_jit_bernoulli", u8, C, f64)
        below = extern("dsim_jit_below", u64, C, u64, returns=i64)
        integer = extern("dsim_jit_integer", i64, C, i64, i64)
        poisson = extern("dsim_jit_poisson", u64, C, f64, returns=i64)
        bits = extern("dsim_jit_bits", u64, C)
        has_fail_text = "dsim_jit_fail_text" in self.symbols
        messages = []  # fail messages by code, where the bridge takes codes only

        def fail_with(text):
            """An intrinsic failing the handler with a constant message (or,
            where the bridge takes codes only, with the message's code)."""
            if text not in messages:
                messages.append(text)
            code = messages.index(text) + 1

            def typer(typingctx, ctx):
                def codegen(context, builder, sig, values):
                    if has_fail_text:
                        data = text.encode("utf-8")
                        fnty = ir.FunctionType(ir.VoidType(),
                                               [i8p, i8p, ir.IntType(64)])
                        fn = cgutils.get_or_insert_function(builder.module, fnty,
                                                            "dsim_jit_fail_text")
                        pointer = context.insert_const_bytes(builder.module, data)
                        builder.call(fn, [values[0], pointer,
                                          ir.Constant(ir.IntType(64), len(data))])
                    else:
                        fnty = ir.FunctionType(ir.VoidType(), [i8p, ir.IntType(64)])
                        fn = cgutils.get_or_insert_function(builder.module, fnty,
                                                            "dsim_jit_fail")
                        builder.call(fn, [values[0], ir.Constant(ir.IntType(64), code)])
                    return context.get_dummy_value()

                return types.void(ctx), codegen

            return intrinsic(typer)

        self.fail_with = fail_with

        def pointer_as(numba_type):
            """An intrinsic viewing a void* as `numba_type` (a record or an
            opaque pointer type)."""

            def typer(typingctx, pointer):
                def codegen(context, builder, sig, values):
                    return builder.bitcast(values[0], context.get_value_type(numba_type))

                return numba_type(types.voidptr), codegen

            return intrinsic(typer)

        self.pointer_as = pointer_as

        # -- the context: attributes --
        def attribute(name, function):
            overload_attribute(ContextType, name)(lambda ctx: (lambda ctx: function(ctx)))

        for name, function in (("now", now), ("self", self_id), ("index", index),
                               ("group_first", group_first), ("group_size", group_size),
                               ("entity_count", entity_count)):
            attribute(name, function)

        @overload_attribute(ContextType, "rng")
        def ctx_rng(ctx):
            return lambda ctx: ctx

        @overload_attribute(ContextType, "neighbours")
        def ctx_neighbours(ctx):
            def impl(ctx):
                n = neighbour_count(ctx)
                out = np.empty(n, np.uint32)
                for k in range(n):
                    out[k] = neighbour(ctx, k)
                return out
            return impl

        @overload_attribute(ContextType, "neighbour_weights")
        def ctx_neighbour_weights(ctx):
            def impl(ctx):
                n = neighbour_count(ctx)
                out = np.empty(n, np.float64)
                for k in range(n):
                    out[k] = neighbour_weight(ctx, k)
                return out
            return impl

        # -- the context: draws (ctx.rng is the context) --
        def omitted(t):
            return t is None or isinstance(t, (types.Omitted, types.NoneType))

        @overload_method(ContextType, "uniform")
        def ctx_uniform(ctx, lo=None, hi=None):
            if omitted(lo) and omitted(hi):
                return lambda ctx, lo=None, hi=None: uniform(ctx)
            if omitted(lo) or omitted(hi):
                raise refuse("uniform() takes no bounds or both (lo, hi)")
            return lambda ctx, lo=None, hi=None: uniform_range(ctx, lo, hi)

        @overload_method(ContextType, "normal")
        def ctx_normal(ctx, mean=0.0, stddev=1.0):
            return lambda ctx, mean=0.0, stddev=1.0: normal(ctx, mean, stddev)

        @overload_method(ContextType, "bernoulli")
        def ctx_bernoulli(ctx, p):
            return lambda ctx, p: bernoulli(ctx, p) != 0

        for name, function, arity in (("uniform_pos", uniform_pos, 0),
                                      ("exponential", exponential, 1),
                                      ("lognormal", lognormal, 2), ("below", below, 1),
                                      ("integer", integer, 2), ("poisson", poisson, 1),
                                      ("bits", bits, 0)):
            _method(overload_method, ContextType, name, function, arity)

        # -- the context: statistics --
        def check_statistic(kinds, what):
            def check(t):
                if not isinstance(t, StatisticType) or t.kind not in kinds:
                    got = f"a {t.kind}" if isinstance(t, StatisticType) else str(t)
                    raise refuse(f"{what}() takes a {' or a '.join(kinds)} kept on "
                                 f"self in __init__, not {got}")
            return check

        @overload_method(ContextType, "add")
        def ctx_add(ctx, counter, amount=1.0):
            check_statistic(("counter",), "add")(counter)
            return lambda ctx, counter, amount=1.0: add(ctx, counter, amount)

        @overload_method(ContextType, "value")
        def ctx_value(ctx, counter):
            check_statistic(("counter",), "value")(counter)
            return lambda ctx, counter: value(ctx, counter)

        @overload_method(ContextType, "set")
        def ctx_set(ctx, gauge, level):
            check_statistic(("gauge",), "set")(gauge)
            return lambda ctx, gauge, level: set_gauge(ctx, gauge, level)

        @overload_method(ContextType, "level")
        def ctx_level(ctx, gauge):
            check_statistic(("gauge",), "level")(gauge)
            return lambda ctx, gauge: level(ctx, gauge)

        @overload_method(ContextType, "record")
        def ctx_record(ctx, statistic, value):
            check_statistic(("tally", "histogram"), "record")(statistic)
            if statistic.kind == "tally":
                return lambda ctx, statistic, value: record_tally(ctx, statistic, value)
            return lambda ctx, statistic, value: record_histogram(ctx, statistic, value)

        @overload_method(ContextType, "fail", prefer_literal=True)
        def ctx_fail(ctx, message):
            if isinstance(message, types.StringLiteral):
                failing = fail_with(message.literal_value)
                return lambda ctx, message: failing(ctx)
            if isinstance(message, types.Integer):
                return lambda ctx, message: fail_code(ctx, message)
            if isinstance(message, types.UnicodeType):
                raise refuse("fail() in compiled code takes a string literal "
                             "(or an int code), not a computed string")
            return None

        @lower_getattr(ContextType, "group")
        def ctx_group(context, builder, typ, value):
            return context.get_dummy_value()  # a literal: its type holds the name

        # -- the context: groups by name --
        def group_call(c_name, result, what):
            """ctx.WHAT(group) calling `c_name(ctx, name bytes, length)`:
            a literal name is a constant of the code; a computed one is
            passed as it is (group names are ASCII: another cannot be one)."""
            by_text = extern(c_name, result, C, types.voidptr, u64, returns=i64)
            not_ascii = fail_with(f"{what}(): no entity group has a name that is not ASCII")
            missing = 0xFFFFFFFF if what == "first_of" else 0  # as the bridge's on error

            def by_literal(text):
                data = text.encode("utf-8")

                def typer(typingctx, ctx):
                    def codegen(context, builder, sig, values):
                        fnty = ir.FunctionType(context.get_value_type(result),
                                               [i8p, i8p, ir.IntType(64)])
                        fn = cgutils.get_or_insert_function(builder.module, fnty, c_name)
                        pointer = context.insert_const_bytes(builder.module, data)
                        out = builder.call(fn, [values[0], pointer,
                                                ir.Constant(ir.IntType(64), len(data))])
                        return context.cast(builder, out, result, i64)

                    return i64(ctx), codegen

                return intrinsic(typer)

            def typer(ctx, group):
                if isinstance(group, types.StringLiteral):
                    call = by_literal(group.literal_value)
                    return lambda ctx, group: call(ctx)
                if isinstance(group, types.UnicodeType):
                    def impl(ctx, group):
                        if group._is_ascii:
                            return by_text(ctx, group._data, group._length)
                        not_ascii(ctx)
                        return missing
                    return impl
                raise refuse(f"{what}() takes a group's name (a str), not {group}")

            overload_method(ContextType, what, prefer_literal=True)(typer)

        group_call("dsim_jit_first_of", u32, "first_of")
        group_call("dsim_jit_size_of", u64, "size_of")

        # -- the context: send(target, PayloadType, delay, field=value, ...) --
        P = inspect.Parameter

        @infer_getattr
        class ContextAttributes(AttributeTemplate):
            key = ContextType

            def resolve_group(self, ctx):
                """The group's name: a constant (the code is compiled per
                group name where a method reads it: _compiled)."""
                if ctx.group is None:
                    raise refuse(_NEEDS_GROUP)
                return types.literal(ctx.group)

            @bound_function("pydsim.Context.send")
            def resolve_send(self, ctx, args, kws):
                if len(args) != 3:
                    raise refuse(
                        "send(target, PayloadType, delay, field=value, ...): in compiled code "
                        "give the payload's fields by keyword")
                target, payload, delay = args
                if not isinstance(payload, PayloadRef):
                    raise refuse(f"send(): the payload type must be a "
                                 f"pydsim.payload(...) of the module, not {payload}")
                if not isinstance(target, types.Integer):
                    raise refuse(f"send(): the target is an entity id (an int), "
                                 f"not {target}")
                if not isinstance(delay, (types.Integer, types.Float)):
                    raise refuse(f"send(): the delay is a number, not {delay}")
                names = [f for f, _, _ in payload.fields]
                params = [P("target", P.POSITIONAL_OR_KEYWORD),
                          P("payload", P.POSITIONAL_OR_KEYWORD),
                          P("delay", P.POSITIONAL_OR_KEYWORD)]
                arg_types = [types.int64, payload, types.float64]
                kws = dict(kws)
                record = kws.pop("record", None)
                if record is not None:
                    # record=: a record of the payload's layout (the payload
                    # received, an element of an array of them), copied first.
                    expected = numba.from_dtype(payload.payload.record)
                    given = record.dtype if isinstance(record, types.Array) \
                        and record.ndim == 0 else record
                    if not (isinstance(given, types.Record) and given.size == expected.size
                            and given.fields == expected.fields):
                        raise refuse(f"send(): record= takes a record of payload "
                                     f"{payload.payload.name} (the payload received, say), "
                                     f"not {record}")
                    params.append(P("record", P.POSITIONAL_OR_KEYWORD))
                    arg_types.append(record)
                for key, given in kws.items():
                    if key not in names:
                        raise refuse(
                            f"payload {payload.payload.name} has no field '{key}' (fields: "
                            f"{', '.join(names) or 'none'})")
                for name, scalar, _ in payload.fields:
                    given = kws.get(name)
                    if given is None:  # zero, or the record's: typed None (lower_send)
                        params.append(P(name, P.POSITIONAL_OR_KEYWORD, default=None))
                        arg_types.append(types.none)
                        continue
                    if scalar is None:
                        raise refuse(f"payload {payload.payload.name}: field "
                                     f"'{name}' is an array: compiled code cannot "
                                     "set it")
                    if not isinstance(given, (types.Integer, types.Float, types.Boolean)):
                        raise refuse(f"payload {payload.payload.name}: field "
                                     f"'{name}' takes a number, not {given}")
                    if (isinstance(given, types.Float)
                            and isinstance(scalar, (types.Integer, types.Boolean))):
                        raise refuse(f"payload {payload.payload.name}: field "
                                     f"'{name}' holds {scalar}, not {given}")
                    params.append(P(name, P.POSITIONAL_OR_KEYWORD, default=0))
                    arg_types.append(scalar)
                return types.void(*arg_types).replace(pysig=inspect.Signature(params))

        @lower_builtin("pydsim.Context.send", ContextType, types.VarArg(types.Any))
        def lower_send(context, builder, sig, args):
            ctx, target, _, delay = args[:4]
            payload = sig.args[2]
            buffer = cgutils.alloca_once(builder, ir.ArrayType(ir.IntType(64), 4), zfill=True)
            data = builder.bitcast(buffer, i8p)
            # After delay (resolve_send's signature): record= where given,
            # then every field, typed None where not given (it stays zero,
            # or the record's).
            fields_at = len(sig.args) - len(payload.fields)
            if fields_at > 4:
                record, value = sig.args[4], args[4]
                if isinstance(record, types.Array):
                    value = context.make_array(record)(context, builder, value).data
                cgutils.memcpy(builder, data, builder.bitcast(value, i8p),
                               ir.Constant(ir.IntType(64), payload.payload.size))
            for (name, scalar, offset), typed, v in zip(payload.fields, sig.args[fields_at:],
                                                        args[fields_at:]):
                if isinstance(typed, types.NoneType):
                    continue
                at = builder.gep(data, [ir.Constant(ir.IntType(64), offset)])
                at = builder.bitcast(at, context.get_data_type(scalar).as_pointer())
                builder.store(context.get_value_as_data(builder, scalar, v), at)
            # An id outside 32 bits is no entity: the bridge says so.
            i64t = ir.IntType(64)
            bad = builder.or_(builder.icmp_signed("<", target, ir.Constant(i64t, 0)),
                              builder.icmp_signed(">", target, ir.Constant(i64t, 0xFFFFFFFF)))
            target = builder.select(bad, ir.Constant(i64t, 0xFFFFFFFF), target)
            fnty = ir.FunctionType(ir.VoidType(), [i8p, ir.IntType(32), ir.IntType(32), i8p,
                                                   i64t, ir.DoubleType()])
            fn = cgutils.get_or_insert_function(builder.module, fnty, "dsim_jit_send")
            builder.call(fn, [ctx, builder.trunc(target, ir.IntType(32)),
                              ir.Constant(ir.IntType(32), payload.payload.id), data,
                              ir.Constant(i64t, payload.payload.size), delay])
            return context.get_dummy_value()

    # -- a type's methods --
    def _self_class(self, typedef):
        """A GroupSelf subclass per type, with the class's other methods as
        methods of self in compiled code."""
        cls = self._self_classes.get(typedef.name)
        if cls is not None and cls.cls is typedef.cls:
            return cls
        cls = type(f"GroupSelf_{len(self._self_classes)}", (self.GroupSelf,),
                   {"cls": typedef.cls})
        self._self_classes[typedef.name] = cls
        self.register_model(cls)(self.models.OpaqueModel)  # models are found by exact class
        for name, function in inspect.getmembers(typedef.cls, inspect.isfunction):
            if name.startswith("__"):
                continue
            typer = _same_signature(function)
            if typer is not None:
                self.overload_method(cls, name)(typer)
        return cls

    def compile(self, typedef, layout, group) -> _Code:
        """The type's methods for this layout of self and, where `group` is
        not None, this group name (ctx.group); with None, a method that
        reads ctx.group raises _NeedsGroup."""
        self_type = self._self_class(typedef)(typedef.name, layout)
        state_type = self.numba.from_dtype(typedef.state_record)
        context_type = self.ContextType(group)
        code = _Code()
        targets = [(m, p) for p, m in typedef.handlers] + \
                  [(h, None) for h in (typedef.init, typedef.finish) if h]
        for method, payload in targets:
            function = getattr(typedef.cls, method)
            if not _is_jit(function):
                continue
            body = self.numba.njit(function)
            if payload is not None:
                argtypes = (self_type, state_type, self.numba.from_dtype(payload.record),
                            context_type)
            else:
                argtypes = (self_type, state_type, context_type)
            try:
                body.compile(argtypes)
            except Exception as error:  # noqa: BLE001 - Numba's errors are of many kinds
                if group is None and _NEEDS_GROUP in str(error):
                    raise _NeedsGroup() from None
                raise _core.InputError(
                    f"{typedef.where}: @pydsim.jit method {method} cannot be compiled by "
                    f"Numba: {_numba_reason(error)}") from None
            wrapper = self._wrapper(body, argtypes, payload is not None,
                                    f"{typedef.where}: {method} raised an exception in "
                                    "compiled code (run it without @pydsim.jit for the "
                                    "traceback)")
            code.cfuncs.append(wrapper)
            code.addresses[method] = wrapper.address
        return code

    def _wrapper(self, body, argtypes, has_payload, failure):
        types = self.types
        as_self = self.pointer_as(argtypes[0])
        as_state = self.pointer_as(argtypes[1])
        as_context = self._as_context.get(argtypes[-1])
        if as_context is None:
            as_context = self._as_context[argtypes[-1]] = self.pointer_as(argtypes[-1])
        fail = self.fail_with(failure)
        vp = types.voidptr
        if has_payload:
            as_payload = self.pointer_as(argtypes[2])

            def handler(state, payload, ctx, self_):
                c = as_context(ctx)
                try:
                    body(as_self(self_), as_state(state), as_payload(payload), c)
                except Exception:  # noqa: BLE001
                    fail(c)

            return self.numba.cfunc(types.void(vp, vp, vp, vp), nopython=True)(handler)

        def hook(state, ctx, self_):
            c = as_context(ctx)
            try:
                body(as_self(self_), as_state(state), c)
            except Exception:  # noqa: BLE001
                fail(c)

        return self.numba.cfunc(types.void(vp, vp, vp), nopython=True)(hook)


def _fixed_arity(count, typing):
    """An intrinsic's typer of `count` arguments (Numba folds a *args one
    into a tuple) calling typing(*argument types)."""
    if count == 1:
        return lambda typingctx, a: typing(a)
    if count == 2:
        return lambda typingctx, a, b: typing(a, b)
    if count == 3:
        return lambda typingctx, a, b, c: typing(a, b, c)
    raise AssertionError(count)


def _method(overload_method, type_class, name, function, arity):
    """ctx.NAME(a[, b]) calling `function(ctx, a[, b])`."""
    if arity == 0:
        overload_method(type_class, name)(lambda ctx: (lambda ctx: function(ctx)))
    elif arity == 1:
        overload_method(type_class, name)(lambda ctx, a: (lambda ctx, a: function(ctx, a)))
    else:
        overload_method(type_class, name)(
            lambda ctx, a, b: (lambda ctx, a, b: function(ctx, a, b)))


def _same_signature(function):
    """A Numba overload typer with `function`'s own signature that returns
    `function` (Numba wants the two signatures equal); None where the
    signature has keyword-only or ** parameters."""
    try:
        sig = inspect.signature(function)
    except (TypeError, ValueError):
        return None
    parts, namespace = [], {"__impl": function}
    for i, p in enumerate(sig.parameters.values()):
        if p.kind == p.VAR_POSITIONAL:
            parts.append("*" + p.name)
        elif p.kind in (p.KEYWORD_ONLY, p.VAR_KEYWORD):
            return None
        elif p.default is not p.empty:
            namespace[f"__default{i}"] = p.default
            parts.append(f"{p.name}=__default{i}")
        else:
            parts.append(p.name)
    exec(f"def typer({', '.join(parts)}):\n    return __impl\n", namespace)  # noqa: S102
    return namespace["typer"]


# The bridge's functions for compiled code (python/src/types.cpp); the
# optional ones are used where the module has them.
_C_FUNCTIONS = [
    "dsim_jit_now", "dsim_jit_self", "dsim_jit_index", "dsim_jit_group_first",
    "dsim_jit_group_size", "dsim_jit_entity_count", "dsim_jit_first_of", "dsim_jit_size_of",
    "dsim_jit_neighbour_count",
    "dsim_jit_neighbour", "dsim_jit_neighbour_weight", "dsim_jit_send", "dsim_jit_add",
    "dsim_jit_value", "dsim_jit_record_tally", "dsim_jit_record_histogram",
    "dsim_jit_set_gauge", "dsim_jit_level", "dsim_jit_fail", "dsim_jit_fail_text",
    "dsim_jit_uniform", "dsim_jit_uniform_range", "dsim_jit_uniform_pos",
    "dsim_jit_exponential", "dsim_jit_normal", "dsim_jit_lognormal", "dsim_jit_bernoulli",
    "dsim_jit_below", "dsim_jit_integer", "dsim_jit_poisson", "dsim_jit_bits",
    "dsim_jit_sample", "dsim_jit_distribution_mean",
]
_OPTIONAL = {"dsim_jit_fail_text"}
