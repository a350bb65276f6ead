"""PHOLD written in Python: the C++ reference model (models/phold/phold.cpp)
line for line, drawing the same random numbers in the same order, so its
result files are the C++ model's, bit for bit.

    phold_py   plain Python handlers (they hold the GIL: one thread at a time)
    phold_jit  the same methods compiled by Numba (@pydsim.jit): they run
               without the GIL, on every thread

Load it as a plugin (examples/python/phold.toml does, with phold_py;
change its type to phold_jit for the compiled one, which needs Numba):
    dsim run examples/python/phold.toml
or from Python:
    import pydsim; pydsim.load("examples/python/phold.toml").run()
"""

import math

import numpy as np

import pydsim

# The C++ model's payload: the same name, so the same id, and no fields.
Ping = pydsim.payload("phold.ping")

PARAMS = {
    "start_events": (1, "events each entity schedules for itself at start"),
    "remote": (0.1, "probability that an event's successor goes to a random entity"),
    "lookahead": (1.0, "fixed part of every delay (>= the link's lookahead)"),
    "mean": (1.0, "mean of the exponential part of every delay"),
}


def check_params(start_events, remote, lookahead, mean):
    """The C++ model's checks, with its messages."""
    if start_events < 0:
        raise pydsim.InputError(f"parameter 'start_events' = {start_events} must be >= 0")
    if not 0.0 <= remote <= 1.0:
        raise pydsim.InputError(f"parameter 'remote' = {remote} must be in [0, 1]")
    if not (lookahead >= 0.0 and math.isfinite(lookahead)):
        raise pydsim.InputError(f"parameter 'lookahead' = {lookahead} must be finite and >= 0")
    if not (mean > 0.0 and math.isfinite(mean)):
        raise pydsim.InputError(f"parameter 'mean' = {mean} must be finite and > 0")


@pydsim.entity_type("phold_py", doc="PHOLD benchmark in plain Python: each event sends one "
                                    "successor to itself or, with probability `remote`, to a "
                                    "random entity of the group")
class PholdPy:
    state = []  # nothing: the `events` counter is the entity's only fact
    params = PARAMS

    def __init__(self, setup):
        self.start_events = setup.param("start_events")
        self.remote = setup.param("remote")
        self.lookahead = setup.param("lookahead")
        self.mean = setup.param("mean")
        check_params(self.start_events, self.remote, self.lookahead, self.mean)
        self.events = setup.counter("events", "events handled")

    def init(self, state, ctx):
        rng = ctx.rng
        for _ in range(self.start_events):
            ctx.send(ctx.self, Ping, self.lookahead + rng.exponential(self.mean))

    @pydsim.handler(Ping)
    def on_ping(self, state, ping, ctx):
        ctx.add(self.events)
        rng = ctx.rng
        target = ctx.self
        if rng.bernoulli(self.remote):
            target = ctx.group_first + rng.below(ctx.group_size)
        ctx.send(target, Ping, self.lookahead + rng.exponential(self.mean))


@pydsim.entity_type("phold_jit", doc="PHOLD benchmark, phold_py's handlers compiled by Numba "
                                     "(@pydsim.jit): each event sends one successor to itself "
                                     "or, with probability `remote`, to a random entity of the "
                                     "group")
@pydsim.jit
class PholdJit(PholdPy):
    """phold_py's init and on_ping, compiled (same draws, same results)."""
