"""`mpirun -np N /usr/bin/python3 script.py`: a model across ranks on mpi4py's
communicator gives the sequential results, and an experiment's runs are
shared by the ranks with the files of one process."""

import filecmp
import os
import shutil
import subprocess

import pytest

import pydsim
from conftest import REPO

PHOLD = REPO / "models" / "phold" / "phold.toml"
MMC = REPO / "models" / "queueing" / "mmc.toml"
SCRIPT = REPO / "tests" / "python" / "mpi" / "run_model.py"

pytestmark = pytest.mark.skipif(
    not pydsim.built_with_mpi or shutil.which("mpirun") is None,
    reason="dsim without MPI, or no mpirun")


@pytest.mark.parametrize("ranks", [2, 3])
def test_mpi_script_gives_the_sequential_results(ranks, python_path, tmp_path):
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    out = tmp_path / "run"
    exp = tmp_path / "exp"
    done = subprocess.run(
        ["mpirun", "-np", str(ranks), "--oversubscribe", "--bind-to", "none",
         "--mca", "btl_vader_single_copy_mechanism", "none",
         "/usr/bin/python3", str(SCRIPT), python_path, str(PHOLD), str(out), str(exp), str(MMC)],
        env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "experiment done" in done.stdout

    model = pydsim.load(PHOLD, set={"simulation.end_time": 100, "entities.phold.count": 4096})
    model.run(out=tmp_path / "seq")
    for sync in ("conservative", "optimistic"):
        for f in ("results.csv", "results.json"):
            assert filecmp.cmp(tmp_path / "seq" / f, tmp_path / f"run-{sync}" / f,
                               shallow=False), (sync, f)

    mmc = pydsim.load(MMC, set={"simulation.end_time": 1000})
    one = pydsim.experiment(mmc, vary={"entities.queue.params.servers": [2, 3]},
                            replications=4, out=tmp_path / "exp1")
    for f in ("runs.csv", "summary.csv", "runs.json", "summary.json"):
        assert filecmp.cmp(tmp_path / "exp1" / f, exp / f, shallow=False), f
