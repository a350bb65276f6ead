"""Experiments from Python: the engine of `dsim experiment`, the same files,
deterministic, with the runs' series as an xarray Dataset."""

import filecmp
import math
import subprocess

import numpy as np
import pandas as pd
import pytest

import pydsim
from conftest import REPO

MMC = REPO / "models" / "queueing" / "mmc.toml"
MM1 = REPO / "models" / "queueing" / "mm1.toml"
EPIDEMIC = REPO / "models" / "epidemic" / "epidemic.toml"
FILES = ["runs.csv", "summary.csv", "runs.json", "summary.json"]


def test_same_files_as_the_cli(dsim_bin, tmp_path):
    subprocess.run([dsim_bin, "experiment", str(MMC), "--vary",
                    "entities.queue.params.servers=2,3", "--replications", "4", "--set",
                    "simulation.end_time=2000", "--workers", "2", "--quiet", "--out",
                    str(tmp_path / "cli")], check=True)
    model = pydsim.load(MMC, set={"simulation.end_time": 2000})
    e = pydsim.experiment(model, vary={"entities.queue.params.servers": [2, 3]},
                          replications=4, workers=2, out=tmp_path / "py")
    for f in FILES:
        assert filecmp.cmp(tmp_path / "cli" / f, tmp_path / "py" / f, shallow=False), f
    runs = pd.read_csv(tmp_path / "cli" / "runs.csv", float_precision="round_trip")
    assert len(e.runs) == len(runs)
    assert np.array_equal(e.runs["value"].to_numpy(), runs["value"].to_numpy(),
                          equal_nan=True)
    assert list(e.points["replications"]) == [4, 4]
    assert e.factors == ["entities.queue.params.servers"]
    assert e.out == str(tmp_path / "py")


def test_deterministic_whatever_the_workers():
    model = pydsim.load(MM1, set={"simulation.end_time": 500})
    vary = {"entities.arrivals.params.interarrival": ["exp(rate=0.5)", "exp(rate=0.7)"]}
    one = pydsim.experiment(model, vary=vary, replications=6, workers=1, seed=11)
    two = pydsim.experiment(model, vary=vary, replications=6, workers=2, seed=11)
    pd.testing.assert_frame_equal(one.runs, two.runs, check_exact=True)
    pd.testing.assert_frame_equal(one.summary, two.summary, check_exact=True)
    other = pydsim.experiment(model, vary=vary, replications=6, workers=2, seed=12)
    assert not other.runs["value"].equals(one.runs["value"])
    # Common random numbers: replication r of both points has the same seed.
    seeds = one.runs.groupby(["point", "replication"])["seed"].first().unstack("point")
    assert (seeds[0] == seeds[1]).all()
    assert one.out is None


def test_mm1_interval_contains_the_formula():
    # M/M/1 with arrival rate 0.5 and service rate 1: mean wait in queue
    # rho / (mu - lambda) = 1.
    model = pydsim.load(MM1, set={"simulation.end_time": 20000})
    e = pydsim.experiment(model, precision="queue.wait.mean=0.05", min_replications=5,
                          max_replications=60, confidence=0.95, workers=2)
    row = e.summary[(e.summary["stat"] == "wait") & (e.summary["field"] == "mean")].iloc[0]
    assert row["half_width"] <= 0.05 * abs(row["mean"])
    assert e.points["stopped"].iloc[0] == "precision"
    assert row["ci_low"] <= 1.0 <= row["ci_high"], row
    assert e.value("queue.wait.mean", what="n") == row["n"]


def test_series_as_an_xarray_dataset():
    model = pydsim.load(EPIDEMIC, set={"entities.people.count": 1000,
                                       "simulation.end_time": 40})
    e = pydsim.experiment(model, vary={"entities.people.params.beta": [0.05, 0.1],
                                       "entities.people.params.recovery": [4.0, 6.0]},
                          replications=3, workers=2)
    ds = e.series
    infected = ds["people.infected"]
    assert infected.dims == ("entities.people.params.beta", "entities.people.params.recovery",
                             "replication", "time")
    assert infected.shape == (2, 2, 3, 40)
    assert list(ds["entities.people.params.beta"].values) == [0.05, 0.1]
    # Each run's series is the one a single run with its seed gives.
    seed = int(e.runs[(e.runs["point"] == 3) & (e.runs["replication"] == 1)]["seed"].iloc[0])
    single = model.copy().set("entities.people.params.beta", 0.1) \
        .set("entities.people.params.recovery", 6.0).run(seed=seed)
    assert np.array_equal(infected.sel({"entities.people.params.beta": 0.1,
                                        "entities.people.params.recovery": 6.0,
                                        "replication": 1}).values,
                          single.series["people.infected"].to_numpy())

    lhs = pydsim.experiment(model, vary={"entities.people.params.beta": {"from": 0.05,
                                                                           "to": 0.15}},
                            design="lhs", points=3, replications=2, workers=2)
    assert lhs.series["people.infected"].dims == ("point", "replication", "time")
    betas = lhs.series["entities.people.params.beta"].values
    assert len(betas) == 3 and all(0.05 <= b <= 0.15 for b in betas)


def test_points_design_and_ranges():
    model = pydsim.load(MMC, set={"simulation.end_time": 500})
    e = pydsim.experiment(model, vary={"entities.queue.params.servers": [2, 3, 4],
                                       "simulation.end_time": [400, 500, 600]},
                          design="points", replications=2)
    assert e.points[["entities.queue.params.servers", "simulation.end_time"]].values.tolist() == \
        [[2, 400], [3, 500], [4, 600]]
    r = pydsim.experiment(model, vary={"entities.queue.params.servers": {"from": 2, "to": 6,
                                                                           "step": 2}},
                          replications=2)
    assert list(r.points["entities.queue.params.servers"]) == [2, 4, 6]
    lin = pydsim.experiment(model, vary={"simulation.end_time": {"linspace": [100, 300, 3]}},
                            replications=2)
    assert list(lin.points["simulation.end_time"]) == [100.0, 200.0, 300.0]


def test_bad_experiments_raise_input_error():
    model = pydsim.load(MMC, set={"simulation.end_time": 100})
    with pytest.raises(pydsim.InputError, match="entities.queue.params.bogus"):
        pydsim.experiment(model, vary={"entities.queue.params.bogus": [1, 2]})
    with pytest.raises(pydsim.InputError, match="servers"):
        pydsim.experiment(model, vary={"entities.queue.params.servers": []})
    with pytest.raises(pydsim.InputError, match="queue.nothing"):
        pydsim.experiment(model, precision="queue.nothing.mean=0.1")
    with pytest.raises(pydsim.InputError, match="as many values"):
        pydsim.experiment(model, design="points",
                          vary={"entities.queue.params.servers": [2, 3],
                                "simulation.end_time": [10]})
    with pytest.raises(pydsim.InputError, match="step"):
        pydsim.experiment(model, vary={"simulation.end_time": {"from": 10, "to": 1,
                                                               "step": 1}})


def test_resume_takes_finished_runs_from_the_journal(tmp_path):
    model = pydsim.load(MMC, set={"simulation.end_time": 500})
    vary = {"entities.queue.params.servers": [2, 3]}
    first = pydsim.experiment(model, vary=vary, replications=3, out=tmp_path / "e")
    again = pydsim.experiment(model, vary=vary, replications=3, out=tmp_path / "e",
                              resume=True)
    assert again.runs_executed == 0
    pd.testing.assert_frame_equal(first.summary, again.summary, check_exact=True)
    with pytest.raises(pydsim.InputError, match="journal"):
        pydsim.experiment(model, vary=vary, replications=3, out=tmp_path / "e")


def test_progress_and_failures(tmp_path):
    import os
    plugin = os.environ.get("DSIM_TEST_PLUGIN")
    if not plugin:
        pytest.skip("DSIM_TEST_PLUGIN (the faulty test plugin) not given")
    model = pydsim.load(REPO / "tests" / "data" / "faulty_ring.toml", plugins=[plugin])
    seen = []
    e = pydsim.experiment(model, vary={"entities.hosts.params.fail_entity": [-1, 2]},
                          replications=2, workers=2, progress=seen.append)
    assert seen and seen[-1]["runs_done"] == 4
    assert [f["point"] for f in e.failures] == [1, 1]
    assert all("asked to fail" in f["message"] for f in e.failures)
    assert list(e.points["failed"]) == [0, 2]
