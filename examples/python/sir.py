"""The SIR/SEIR epidemic written in Python: the C++ reference model
(models/epidemic/epidemic.cpp) line for line, drawing the same random
numbers in the same order, so its result files (results.csv, series.csv)
are the C++ model's, bit for bit, for model = "SIR" and "SEIR".

    sir_py   plain Python methods (they hold the GIL: one thread at a time)
    sir_jit  the same methods compiled by Numba (@pydsim.jit on a subclass;
             the helpers gauge, move and become_infectious are compiled
             with them): they run without the GIL, on every thread

Run (examples/python/sir.toml uses sir_jit):
    dsim run examples/python/sir.toml
or from Python:
    import pydsim; pydsim.load("examples/python/sir.toml").run()
"""

import math

import numpy as np

import pydsim

# The C++ model's payloads: the same names, so the same ids; no fields.
Contact = pydsim.payload("epidemic.contact")        # from an infectious neighbour
Infectious = pydsim.payload("epidemic.infectious")  # to itself: end of incubation (SEIR)
Recover = pydsim.payload("epidemic.recover")        # to itself: end of the infectious period

# Compartments (State.compartment), as the C++ enum.
SUSCEPTIBLE, EXPOSED, INFECTIOUS, RECOVERED = 0, 1, 2, 3


def _finite_at_least(value, lo):
    return math.isfinite(value) and value >= lo


@pydsim.entity_type("sir_py", doc="SIR/SEIR epidemic in plain Python: people infect their "
                                  "network neighbours")
class SirPy:
    state = [("compartment", np.uint8)]
    params = {
        "model": ("SIR", '"SIR" or "SEIR"'),
        "beta": (0.1, "transmission rate per infectious-susceptible contact (per time unit)"),
        "incubation": (3.0, "mean exposed period (SEIR only)"),
        "recovery": (5.0, "mean infectious period"),
        "initial_infected": (0.001, "probability that a person is infectious at time 0"),
        "latency": (0.1, "delay of a contact after transmission; >= the link's lookahead"),
    }

    def __init__(self, setup):
        self.beta = setup.param("beta")
        self.incubation = setup.param("incubation")
        self.recovery = setup.param("recovery")
        self.initial_infected = setup.param("initial_infected")
        self.latency = setup.param("latency")
        self.susceptible = setup.gauge("susceptible", "1 while susceptible")
        self.exposed = setup.gauge("exposed", "1 while exposed (SEIR)")
        self.infected = setup.gauge("infected", "1 while infectious")
        self.recovered = setup.gauge("recovered", "1 once recovered")
        self.infections = setup.counter("infections", "transmissions received")
        # The C++ model's checks, with its messages.
        model = setup.param("model")
        if model not in ("SIR", "SEIR"):
            raise pydsim.InputError(f"parameter 'model' = \"{model}\" must be \"SIR\" or "
                                    "\"SEIR\"")
        self.seir = model == "SEIR"
        if not _finite_at_least(self.latency, 0.0):
            raise pydsim.InputError(f"parameter 'latency' = {self.latency} must be finite and "
                                    ">= 0")
        if not _finite_at_least(self.beta, 0.0):
            raise pydsim.InputError(f"parameter 'beta' = {self.beta} must be finite and >= 0")
        if not (self.recovery > 0.0 and math.isfinite(self.recovery)):
            raise pydsim.InputError(f"parameter 'recovery' = {self.recovery} must be finite "
                                    "and > 0")
        if self.seir and not (self.incubation > 0.0 and math.isfinite(self.incubation)):
            raise pydsim.InputError(f"parameter 'incubation' = {self.incubation} must be "
                                    "finite and > 0")
        if not 0.0 <= self.initial_infected <= 1.0:
            raise pydsim.InputError(f"parameter 'initial_infected' = {self.initial_infected} "
                                    "must be in [0, 1]")

    # Helpers: plain methods, called from the handlers (compiled with them in sir_jit).
    def gauge(self, compartment):
        if compartment == SUSCEPTIBLE:
            return self.susceptible
        if compartment == EXPOSED:
            return self.exposed
        if compartment == INFECTIOUS:
            return self.infected
        return self.recovered

    def move(self, state, to, ctx):
        ctx.set(self.gauge(state.compartment), 0.0)
        ctx.set(self.gauge(to), 1.0)
        state.compartment = to

    def become_infectious(self, ctx):
        """The caller has already moved the person to Infectious."""
        rng = ctx.rng
        period = rng.exponential(self.recovery)
        if self.beta > 0.0:
            mean_transmission = 1.0 / self.beta
            for neighbour in ctx.neighbours:
                t = rng.exponential(mean_transmission)
                if t < period:
                    ctx.send(neighbour, Contact, self.latency + t)
        ctx.send(ctx.self, Recover, period)

    def init(self, state, ctx):
        if ctx.rng.bernoulli(self.initial_infected):
            state.compartment = INFECTIOUS
            ctx.set(self.infected, 1.0)
            self.become_infectious(ctx)
        else:
            ctx.set(self.susceptible, 1.0)

    @pydsim.handler(Contact)
    def on_contact(self, state, contact, ctx):
        if state.compartment != SUSCEPTIBLE:
            return
        ctx.add(self.infections)
        if self.seir:
            self.move(state, EXPOSED, ctx)
            ctx.send(ctx.self, Infectious, ctx.rng.exponential(self.incubation))
        else:
            self.move(state, INFECTIOUS, ctx)
            self.become_infectious(ctx)

    @pydsim.handler(Infectious)
    def on_infectious(self, state, infectious, ctx):
        self.move(state, INFECTIOUS, ctx)
        self.become_infectious(ctx)

    @pydsim.handler(Recover)
    def on_recover(self, state, recover, ctx):
        self.move(state, RECOVERED, ctx)


@pydsim.entity_type("sir_jit", doc="SIR/SEIR epidemic, sir_py's methods compiled by Numba "
                                   "(@pydsim.jit): people infect their network neighbours")
@pydsim.jit
class SirJit(SirPy):
    """sir_py's handlers and init, compiled (same draws, same results)."""
