"""Every reference model gives from Python what `dsim run` writes, bit for
bit: the result files of Model.run(out=...) equal the CLI's, and the
DataFrames equal the CLI's files read with pandas."""

import filecmp
import json
import os
import subprocess

import numpy as np
import pandas as pd
import pytest

import pydsim
from conftest import REPO, scale

# Each reference model with overrides that keep it quick, and a layout that
# is not sequential where the model allows it (the results are the same on
# any layout).
MODELS = {
    "queueing/mm1.toml": {"simulation.end_time": 20000},
    "queueing/mm1_rho09.toml": {"simulation.end_time": 20000},
    "queueing/mmc.toml": {},
    "queueing/mmck.toml": {},
    "queueing/jackson.toml": {},
    "queueing/tandem.toml": {},
    "epidemic/epidemic.toml": {"simulation.threads": 2},
    "epidemic/epidemic_1m.toml": {"entities.people.count": 20000, "simulation.end_time": 60},
    "phold/phold.toml": {"simulation.end_time": 100, "simulation.threads": 2},
    "phold/phold_1m.toml": {"entities.phold.count": 65536, "simulation.end_time": 5},
    "phold/phold_la0.toml": {"simulation.end_time": 100},
    "phold/phold_la01.toml": {"simulation.end_time": 60, "simulation.threads": 2,
                              "simulation.sync": "optimistic"},
    "phold/phold_remote05.toml": {"simulation.end_time": 100, "simulation.threads": 2,
                                  "simulation.sync": "conservative"},
}

DATA_FILES = ["results.csv", "results.json", "series.csv"]


def test_every_reference_model_is_listed(repo):
    found = sorted(str(p.relative_to(repo / "models")) for p in (repo / "models").glob("*/*.toml"))
    assert found == sorted(MODELS), "a reference model was added: give it overrides here"


@pytest.mark.parametrize("name", sorted(MODELS))
def test_python_equals_cli(name, repo, dsim_bin, tmp_path):
    config = repo / "models" / name
    overrides = MODELS[name]
    cli_dir = tmp_path / "cli"
    py_dir = tmp_path / "py"
    args = [dsim_bin, "run", str(config), "--quiet", "--out", str(cli_dir)]
    for key, value in overrides.items():
        args += ["--set", f"{key}={pydsim.literal(value)}"]
    subprocess.run(args, check=True)

    model = pydsim.load(config, set=overrides)
    result = model.run(out=py_dir)

    # The files: the data files bit for bit, the manifest's model too.
    for f in DATA_FILES:
        assert (cli_dir / f).exists() == (py_dir / f).exists(), f
        if (cli_dir / f).exists():
            assert filecmp.cmp(cli_dir / f, py_dir / f, shallow=False), f"{name}: {f} differs"
    cli_manifest = json.loads((cli_dir / "manifest.json").read_text())
    py_manifest = json.loads((py_dir / "manifest.json").read_text())
    assert py_manifest["config"] == cli_manifest["config"]
    assert py_manifest["seed"] == cli_manifest["seed"]
    assert py_manifest["run"]["events_processed"] == cli_manifest["run"]["events_processed"]
    assert result.manifest["config"] == cli_manifest["config"]

    # The objects: equal to the CLI's files as pandas reads them.
    csv = pd.read_csv(cli_dir / "results.csv", keep_default_na=False, na_values=["nan"],
                      float_precision="round_trip", dtype={"value": float})
    pd.testing.assert_frame_equal(result.stats, csv, check_exact=True)
    if (cli_dir / "series.csv").exists():
        long = pd.read_csv(cli_dir / "series.csv", float_precision="round_trip",
                           dtype={"time": float, "value": float})
        pd.testing.assert_frame_equal(result.series_long, long, check_exact=True)
        for (group, stat), part in long.groupby(["group", "stat"], sort=False):
            column = result.series[f"{group}.{stat}"]
            assert np.array_equal(column.index.to_numpy(), part["time"].to_numpy())
            assert np.array_equal(column.to_numpy(), part["value"].to_numpy())
    else:
        assert result.series.empty
    assert result.figures["events_processed"] == cli_manifest["run"]["events_processed"]
    assert result.end_time == cli_manifest["end_time"]
    assert result.seed == cli_manifest["seed"]

    # value() reads the same numbers.
    row = csv.iloc[len(csv) // 2]
    assert result.value(row["group"], row["stat"], row["field"]) == row["value"] or (
        np.isnan(row["value"]) and np.isnan(result.value(row["group"], row["stat"], row["field"])))

    # read_results gives the same objects from either directory.
    for d in (cli_dir, py_dir):
        back = pydsim.read_results(d)
        pd.testing.assert_frame_equal(back.stats, result.stats, check_exact=True)
        pd.testing.assert_frame_equal(back.series, result.series, check_exact=True)
        assert back.figures["events_processed"] == result.figures["events_processed"]


def test_dict_model_equals_its_file(tmp_path):
    import tomllib

    path = REPO / "models" / "queueing" / "mmc.toml"
    with open(path, "rb") as f:
        tables = tomllib.load(f)
    from_dict = pydsim.Model(tables).set("simulation.end_time", 3000).run()
    from_file = pydsim.load(path, set={"simulation.end_time": 3000}).run()
    pd.testing.assert_frame_equal(from_dict.stats, from_file.stats, check_exact=True)


def test_layouts_agree():
    """The same results on every layout, from Python as from the CLI."""
    model = pydsim.load(REPO / "models" / "phold" / "phold.toml",
                        set={"simulation.end_time": 50, "entities.phold.count": 4096})
    reference = model.run(sync="sequential").stats
    for sync, threads in (("conservative", 2), ("optimistic", 2), ("optimistic", 3)):
        got = model.run(sync=sync, threads=threads)
        assert got.figures["sync"] == sync
        assert got.figures["threads"] == threads
        pd.testing.assert_frame_equal(got.stats, reference, check_exact=True)


def test_model_set_and_plan():
    model = pydsim.load(REPO / "models" / "phold" / "phold.toml")
    model.set("entities.phold.count", 1000).set("simulation.end_time", 10.0)
    resolved = model.validate()
    assert resolved["simulation"]["end_time"] == 10.0
    plan = model.plan(threads=2, sync="conservative", partitioner="block")
    assert plan["threads"] == 2
    assert plan["sync"] == "conservative"
    assert plan["partitioner"] == "block"
    assert sum(plan["partition_entities"]) == 1000
    assert len(plan["partition_of"]) == 1000
    assert set(np.unique(plan["partition_of"])) == {0, 1}
    # The overrides are kept in order, the last wins.
    model.set("simulation.end_time", 12.5)
    assert model.validate()["simulation"]["end_time"] == 12.5
    assert model.overrides[-1] == "simulation.end_time=12.5"


def test_entity_types_are_what_dsim_list_shows(dsim_bin):
    listed = subprocess.run([dsim_bin, "list"], check=True, capture_output=True,
                            text=True).stdout
    names = [line for line in listed.splitlines() if line and not line.startswith(" ")]
    types = pydsim.entity_types()
    assert [t["name"] for t in types] == names
    queue = next(t for t in types if t["name"] == "queue")
    servers = next(p for p in queue["params"] if p["name"] == "servers")
    assert servers["type"] == "int"
    assert servers["default"] is not None
    for t in types:
        for p in t["params"]:
            assert f"    {p['name']}" in listed


def test_statistics_known_before_a_run():
    stats = pydsim.load(REPO / "models" / "queueing" / "mm1.toml").statistics()
    assert {"group": "queue", "stat": "wait", "kind": "tally"} == {
        k: v for k, v in next(s for s in stats if s["stat"] == "wait").items() if k != "doc"}


def test_literal():
    assert pydsim.literal(True) == "true"
    assert pydsim.literal(3) == "3"
    assert pydsim.literal(2.0) == "2.0"
    assert pydsim.literal(1e-20) == "1e-20"
    assert pydsim.literal("exp(mean=1)") == '"exp(mean=1)"'
    assert pydsim.literal([1, "a"]) == '[1, "a"]'
    assert pydsim.literal(np.int64(4)) == "4"
    assert pydsim.literal(np.float64(0.25)) == "0.25"
    with pytest.raises(TypeError):
        pydsim.literal(object())
