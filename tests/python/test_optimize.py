"""pydsim.optimize: Optuna over the experiment engine, a batch of trials per
experiment; deterministic given the seed, resumable from storage (even
after an interruption inside a batch), failures marked per trial; and the
two examples that use it (examples/python/mmc_cost.py, calibrate_epidemic.py)
reach their known answers."""

import importlib.util
import math

import numpy as np
import pandas as pd
import pytest

import pydsim
from conftest import REPO

MMC = REPO / "models" / "queueing" / "mmc.toml"
SERVERS = "entities.queue.params.servers"
SERVICE = "entities.queue.params.service"
SPACE = {SERVERS: range(1, 6),
         SERVICE: {"from": 0.5, "to": 2.0, "step": 0.25, "format": "exp(rate={})"}}


def mmc(end_time=300.0, **settings):
    return pydsim.load(MMC, set={"simulation.end_time": end_time, **settings})


def cost(trial):
    return (trial.params[SERVERS] * (2 + 2 * trial.params[SERVICE])
            + 5 * 2.1 * trial.value("queue.wait.mean"))


def search(**kwargs):
    settings = dict(space=SPACE, objective=cost, n_trials=12, replications=2, seed=7,
                    batch=4, workers=2)
    settings.update(kwargs)
    return pydsim.optimize(settings.pop("model", None) or mmc(), **settings)


def load_example(name):
    spec = importlib.util.spec_from_file_location(name, REPO / "examples" / "python"
                                                  / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_deterministic_given_the_seed():
    one = search()
    two = search()
    pd.testing.assert_frame_equal(one.trials, two.trials, check_exact=True)
    assert list(one.trials["state"]) == ["COMPLETE"] * 12
    assert list(one.trials["batch"]) == [0] * 4 + [1] * 4 + [2] * 4
    assert one.best_value == one.trials["value"].min()
    assert one.best_config[SERVICE] == f"exp(rate={one.best_params[SERVICE]})"
    other = search(seed=8)
    assert not other.trials[[SERVERS, SERVICE]].equals(one.trials[[SERVERS, SERVICE]])
    # Any sampler, given as a function of the seed, is as deterministic.
    import optuna
    random_sampler = lambda seed: optuna.samplers.RandomSampler(seed=seed)  # noqa: E731
    pd.testing.assert_frame_equal(search(sampler=random_sampler).trials,
                                  search(sampler=random_sampler).trials, check_exact=True)


def test_trial_result_holds_the_point():
    seen = []

    def objective(trial):
        seen.append(trial)
        return cost(trial)

    search(model=mmc(**{"output.sample_interval": 100.0}), objective=objective, n_trials=4,
           replications=3)
    trial = seen[0]
    assert trial.number == 0
    assert trial.config[SERVICE] == f"exp(rate={trial.params[SERVICE]})"
    assert list(trial.summary.columns) == ["group", "stat", "field", "n", "mean", "stddev",
                                           "ci_low", "ci_high", "half_width"]
    waits = trial.values("queue.wait.mean")
    assert len(waits) == 3
    assert math.isclose(trial.value("queue.wait.mean"), waits.mean(), rel_tol=1e-12)
    series = trial.series["queue.queue_length"]
    assert series.dims == ("replication", "time")
    assert list(series["time"].values) == [100.0, 200.0, 300.0]
    assert series.sizes["replication"] == 3
    # Common random numbers: replication r of every trial has one seed.
    seeds = [tuple(t.runs.groupby("replication")["seed"].first()) for t in seen]
    assert len(set(seeds)) == 1
    with pytest.raises(KeyError, match="queue.nosuch"):
        trial.value("queue.nosuch.mean")


def test_resume_continues_as_if_uninterrupted(tmp_path):
    whole = search()
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    first = search(n_trials=4, storage=storage, study_name="mmc", out=tmp_path / "out")
    assert len(first.trials) == 4
    second = search(n_trials=8, storage=storage, study_name="mmc", out=tmp_path / "out")
    assert len(second.trials) == 8
    # The rest, with batch taken from the storage.
    resumed = search(n_trials=12, storage=storage, study_name="mmc", out=tmp_path / "out",
                     batch=None)
    pd.testing.assert_frame_equal(resumed.trials, whole.trials, check_exact=True)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "batch-0000", "batch-0001", "batch-0002", "trials.csv"]
    assert len(pd.read_csv(tmp_path / "out" / "trials.csv")) == 12
    # Nothing left to do: the same study back.
    again = search(n_trials=12, storage=storage, study_name="mmc")
    pd.testing.assert_frame_equal(again.trials, whole.trials, check_exact=True)
    with pytest.raises(pydsim.InputError, match="replications"):
        search(n_trials=16, replications=3, storage=storage, study_name="mmc")


def test_resume_after_an_interruption_inside_a_batch(tmp_path):
    whole = search()
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    calls = []

    def interrupted(trial):
        calls.append(trial.number)
        if trial.number == 6 and len(calls) == 7:
            raise KeyboardInterrupt
        return cost(trial)

    with pytest.raises(KeyboardInterrupt):
        search(objective=interrupted, storage=storage, out=tmp_path / "out")
    assert calls == [0, 1, 2, 3, 4, 5, 6]
    # Trials 6 and 7 were asked and their runs are in out/batch-0001's
    # journal; the resume runs that batch again from the journal and tells
    # them.
    calls.clear()
    progress = []
    resumed = search(objective=interrupted, storage=storage, out=tmp_path / "out",
                     progress=progress.append)
    pd.testing.assert_frame_equal(resumed.trials, whole.trials, check_exact=True)
    assert calls == [6, 7, 8, 9, 10, 11]
    assert [(p["batch"], p["trials_done"]) for p in progress] == [(1, 8), (2, 12)]
    assert progress[-1]["best_value"] == resumed.best_value


@pytest.mark.parametrize("space, key, message", [
    ({"entities.queue.params.bogus": [1, 2]}, "entities.queue.params.bogus", "unknown parameter"),
    ({"entities.nosuch.params.servers": [1, 2]}, "entities.nosuch.params.servers",
     "no entity group"),
    ({SERVERS: range(1, 100)}, SERVERS, "99"),
    ({SERVERS: {"from": 5, "to": 1}}, SERVERS, "empty"),
    ({SERVERS: {"from": 1, "to": 5, "by": 1}}, SERVERS, "expected"),
    ({SERVERS: {"from": 0, "to": 5, "log": True}}, SERVERS, ""),
    ({SERVERS: []}, SERVERS, "no choices"),
    ({SERVERS: [[1, 2]]}, SERVERS, "not a bool"),
    ({SERVERS: "3"}, SERVERS, "expected"),
    ({SERVICE: {"from": 0.5, "to": 2.0, "format": 3}}, SERVICE, "format"),
])
def test_a_bad_space_names_its_key(space, key, message):
    with pytest.raises(pydsim.InputError, match=key.replace(".", r"\.")) as error:
        pydsim.optimize(mmc(), space, cost, n_trials=2, replications=1)
    assert message in str(error.value)


def test_failures_mark_the_trial_and_the_study_goes_on():
    def objective(trial):
        if trial.params[SERVERS] == 2:
            raise ValueError("two servers are not allowed")
        return trial.params[SERVERS] + 10 * trial.value("queue.wait.mean")

    with pytest.warns(RuntimeWarning, match="two servers are not allowed"):
        found = search(objective=objective, space={SERVERS: [1, 2, 3]}, n_trials=8)
    t = found.trials
    failed = t[t["state"] == "FAIL"]
    assert len(t) == 8 and len(failed) > 0
    assert (failed[SERVERS] == 2).all()
    assert failed["fail_reason"].str.contains("ValueError: two servers are not allowed").all()
    assert (t.loc[t[SERVERS] != 2, "state"] == "COMPLETE").all()
    assert found.best_params[SERVERS] != 2

    # A point whose runs fail (100 servers: more than a queue has; the
    # engine finds it when it builds each run), and one the model refuses
    # outright (a negative rate: the whole experiment would be refused), fail
    # on their own.
    for space, bad, why in [({SERVERS: [3, 100, 4]}, 100, "2 of 2 runs failed"),
                            ({SERVICE: ["exp(rate=1)", "exp(rate=-1)", "exp(rate=2)"]},
                             "exp(rate=-1)", "the model refuses it")]:
        (key, choices), = space.items()
        with pytest.warns(RuntimeWarning, match=why):
            found = pydsim.optimize(mmc(), space, lambda t: t.value("queue.wait.mean"),
                                    n_trials=9, replications=2, batch=9, workers=2, seed=3)
        t = found.trials
        assert set(t[key]) == set(choices)
        assert (t.loc[t[key] == bad, "fail_reason"].str.startswith(why)).all()
        assert (t.loc[t[key] != bad, "state"] == "COMPLETE").all()

    with pytest.raises(pydsim.RunError, match="all 4 trials failed"), \
            pytest.warns(RuntimeWarning):
        search(objective=lambda t: math.nan, n_trials=4)


def test_mmc_cost_finds_the_erlang_c_optimum():
    example = load_example("mmc_cost")
    found = example.main(end_time=2000, replications=5, n_trials=40, batch=4, seed=1,
                         workers=2, quiet=True)
    # 2 servers of speed 2.0 (cost 14.00); the next best designs are 2%
    # dearer. The simulation finds it exactly.
    assert found["analytic"] == {"servers": 2, "speed": 2.0}
    assert found["steps_apart"] == 0, found["best"]
    assert found["best_value"] == pytest.approx(found["analytic_cost"], rel=0.05)


def test_calibration_recovers_the_known_beta():
    example = load_example("calibrate_epidemic")
    found = example.main(count=2000, end_time=100, replications=16, n_trials=30, batch=6,
                         seed=1, workers=2, quiet=True)
    low, high = found["interval"]
    assert found["covered"] and low <= 0.1 <= high
    assert low <= found["beta"] <= high
    assert high - low < 0.1
    assert np.all((found["refits"] >= 0.04) & (found["refits"] <= 0.25))
