"""Runs from Python: the GIL is released, Ctrl-C stops a run cleanly, errors
carry the CLI's messages, progress reaches Python, result directories."""

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

import pydsim
from conftest import REPO

PHOLD = REPO / "models" / "phold" / "phold.toml"
MM1 = REPO / "models" / "queueing" / "mm1.toml"
FAULTY = REPO / "tests" / "data" / "faulty_ring.toml"


def cli_message(dsim_bin, *args):
    """What `dsim ARGS` says on stderr, without its "dsim: " prefix, and its status."""
    done = subprocess.run([dsim_bin, *args], capture_output=True, text=True)
    lines = [l for l in done.stderr.splitlines() if l.startswith("dsim: ")]
    assert lines, done.stderr
    return lines[-1][len("dsim: "):], done.returncode


def test_python_threads_run_while_the_engine_does():
    """A Python thread keeps counting while a run goes on: the GIL is free."""
    model = pydsim.load(PHOLD, set={"simulation.end_time": 400})
    counts = []
    running = threading.Event()
    stop = threading.Event()

    def count():
        n = 0
        running.set()
        while not stop.is_set():
            n += 1
            if n % 1000 == 0:
                counts.append((time.monotonic(), n))
        counts.append((time.monotonic(), n))

    t = threading.Thread(target=count)
    t.start()
    running.wait()
    start = time.monotonic()
    result = model.run()
    end = time.monotonic()
    stop.set()
    t.join()
    assert result.figures["events_processed"] > 0
    during = [n for when, n in counts if start < when < end]
    assert end - start > 0.3, "the run was too short to tell"
    # The thread made progress all through the run, not only before and after.
    assert len(during) > 10, f"the Python thread stalled during the run ({len(during)} marks)"
    marks = [when for when, _ in counts if start < when < end]
    gaps = [b - a for a, b in zip(marks, marks[1:])]
    assert max(gaps) < 0.5 * (end - start)


CTRL_C_SCRIPT = r"""
import os, sys, time
sys.path.insert(0, sys.argv[1])
import pydsim
model = pydsim.load(sys.argv[2], set={"simulation.end_time": 1e12})
def first(p, said=[]):
    if not said:
        said.append(1)
        print("running", flush=True)
try:
    model.run(out=sys.argv[3], progress=first, progress_interval=0.05)
except KeyboardInterrupt:
    print("KeyboardInterrupt", flush=True)
    sys.exit(7)
print("finished", flush=True)
"""


def test_ctrl_c_stops_a_run(python_path, tmp_path):
    out = tmp_path / "out"
    child = subprocess.Popen([sys.executable, "-c", CTRL_C_SCRIPT, python_path, str(PHOLD),
                              str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    assert child.stdout.readline().strip() == "running"
    sent = time.monotonic()
    child.send_signal(signal.SIGINT)
    stdout, stderr = child.communicate(timeout=60)
    assert time.monotonic() - sent < 10, "the run took long to stop"
    assert child.returncode == 7, (stdout, stderr)
    assert "KeyboardInterrupt" in stdout
    assert not out.exists(), "a stopped run must not leave a result directory"


def test_bad_input_raises_input_error_with_the_cli_message(dsim_bin):
    cases = [
        (["run", str(MM1), "--set", "simulation.bogus=1"],
         lambda: pydsim.load(MM1, set={"simulation.bogus": 1})),
        (["run", str(MM1), "--set", "entities.queue.params.servers=-3"],
         lambda: pydsim.load(MM1, set={"entities.queue.params.servers": -3})),
        (["run", str(MM1), "--set", "simulation.sync=\"warp\""],
         lambda: pydsim.load(MM1).run(sync="warp")),
        (["run", str(REPO / "models" / "none.toml")],
         lambda: pydsim.load(REPO / "models" / "none.toml")),
    ]
    for args, call in cases:
        message, code = cli_message(dsim_bin, *args)
        assert code == 2
        with pytest.raises(pydsim.InputError) as caught:
            call()
        assert str(caught.value) == message
        assert isinstance(caught.value, pydsim.Error)


def test_bad_dict_model():
    with pytest.raises(pydsim.InputError, match="simulation.end_time"):
        pydsim.Model({"simulation": {"end_time": "soon"}}).validate()
    with pytest.raises(TypeError):
        pydsim.Model(42)


def test_model_error_raises_run_error_with_the_cli_message(dsim_bin, tmp_path):
    plugin = os.environ.get("DSIM_TEST_PLUGIN")
    if not plugin:
        pytest.skip("DSIM_TEST_PLUGIN (the faulty test plugin) not given")
    message, code = cli_message(dsim_bin, "run", str(FAULTY), "--plugin", plugin, "--set",
                                "entities.hosts.params.fail_entity=2", "--out",
                                str(tmp_path / "cli"))
    assert code == 1
    model = pydsim.load(FAULTY, plugins=[plugin], set={"entities.hosts.params.fail_entity": 2})
    with pytest.raises(pydsim.RunError) as caught:
        model.run(out=tmp_path / "py")
    assert str(caught.value) == message
    assert not (tmp_path / "py").exists()
    # The same model on two threads reports the same entity.
    with pytest.raises(pydsim.RunError, match=r"hosts\[2\]"):
        model.run(threads=2, sync="optimistic")


def test_progress_reaches_python_and_its_errors_stop_the_run():
    model = pydsim.load(PHOLD, set={"simulation.end_time": 300})
    seen = []
    result = model.run(progress=seen.append, progress_interval=0.02)
    assert seen, "no progress was published"
    assert all(a["now"] <= b["now"] for a, b in zip(seen, seen[1:]))
    assert seen[-1]["events"] <= result.figures["events_processed"]
    assert {"now", "end_time", "events", "wall_seconds", "partition_events"} <= set(seen[0])

    def fail(p):
        raise ValueError("enough")

    big = pydsim.load(PHOLD, set={"simulation.end_time": 1e12})
    started = time.monotonic()
    with pytest.raises(ValueError, match="enough"):
        big.run(progress=fail, progress_interval=0.02)
    assert time.monotonic() - started < 20

    with_series = pydsim.load(REPO / "models" / "epidemic" / "epidemic.toml")
    got = []
    with_series.run(progress=got.append, progress_interval=0.001, progress_series=True)
    assert any("series" in p for p in got) or not got


def test_out_writes_a_result_directory_and_refuses_a_foreign_one(tmp_path):
    model = pydsim.load(MM1, set={"simulation.end_time": 1000})
    out = tmp_path / "r"
    result = model.run(out=out)
    assert result.out == str(out)
    assert sorted(os.listdir(out)) == ["manifest.json", "results.csv", "results.json"]
    # A rerun replaces a result directory; a directory dsim did not write is refused.
    model.run(out=out)
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(pydsim.InputError, match="foreign"):
        model.run(out=foreign)
    assert (foreign / "notes.txt").read_text() == "mine"


def test_read_results_of_something_else(tmp_path):
    with pytest.raises(pydsim.InputError, match=str(tmp_path)):
        pydsim.read_results(tmp_path)


def test_value_names_what_is_missing():
    result = pydsim.load(MM1, set={"simulation.end_time": 100}).run()
    assert result.value("queue", "wait", "count") > 0
    with pytest.raises(KeyError, match="fields"):
        result.value("queue", "wait", "nope")
    with pytest.raises(KeyError, match="queue.wait"):
        result.value("queue", "nope", "mean")
    summary = result.summary()
    assert list(summary.columns[:3]) == ["group", "stat", "kind"]
    assert summary.loc[summary["stat"] == "wait", "mean"].iloc[0] == result.value("queue", "wait", "mean")


def test_two_runs_at_once_in_one_process():
    """Two models run at the same time on two Python threads."""
    a = pydsim.load(PHOLD, set={"simulation.end_time": 100})
    b = pydsim.load(MM1, set={"simulation.end_time": 20000})
    alone = (a.run().stats, b.run().stats)
    got = {}
    threads = [threading.Thread(target=lambda: got.__setitem__("a", a.run(threads=2).stats)),
               threading.Thread(target=lambda: got.__setitem__("b", b.run().stats))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got["a"].equals(alone[0])
    assert got["b"].equals(alone[1])
