"""pydsim: dsim from Python.

Build, run and analyse dsim models; run experiments; optimise parameters.

    import pydsim
    model = pydsim.load("models/queueing/mm1.toml", set={"simulation.end_time": 10_000})
    result = model.run(threads=2)
    result.stats                     # DataFrame, as results.csv
    result.value("queue", "wait", "mean")
    result.series                    # DataFrame indexed by time

    sweep = pydsim.experiment(model, vary={"entities.queue.params.servers": [1, 2, 3]},
                              replications=20)
    sweep.summary                    # DataFrame, as summary.csv

See docs/python.md.
"""

from . import _core
from ._core import Error, InputError, RunError, RunStopped
from ._experiment import ExperimentResult, experiment
from ._jit import jit
from ._model import Model, entity_types, literal, load
from ._result import Result, read_results
from ._types import distribution, entity_type, handler, payload, required

__version__ = _core.version
built_with_mpi = _core.built_with_mpi


def optimize(*args, **kwargs):
    """Optimise parameters with Optuna on the experiment engine (see
    pydsim._optimize.optimize; Optuna is imported only when this is called)."""
    from ._optimize import optimize as run
    return run(*args, **kwargs)


def __getattr__(name):
    if name in ("OptimizeResult", "TrialResult"):
        from . import _optimize
        return getattr(_optimize, name)
    raise AttributeError(f"module 'pydsim' has no attribute {name!r}")


__all__ = [
    "Error", "InputError", "RunError", "RunStopped",
    "Model", "load", "entity_types", "literal",
    "Result", "read_results",
    "experiment", "ExperimentResult",
    "optimize", "OptimizeResult", "TrialResult",
    "payload", "entity_type", "handler", "required", "distribution", "jit",
]
