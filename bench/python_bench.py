"""pydsim's speed against the dsim program (issue #14), for docs/benchmarks.md.

1. A run of about 1,000,000 events (models/queueing/mm1.toml, end time
   500,000): `dsim run --quiet --out DIR` as a process against
   `pydsim.load(...).run(out=DIR)` inside one interpreter, alternating,
   REPEAT times each. Compared: the whole call (Python: load + run + the
   result objects + the files; CLI: the process, start to exit) and the
   event loop alone (manifest run.run_seconds). The yardstick is the CLI,
   measured in the same session.
2. 1,000,000 series points into DataFrames: the epidemic (1,000 people,
   end time 200) sampled every 0.001 days (5 series of 200,000 points):
   Result.series (wide, indexed by time) and Result.series_long (as
   series.csv), each on a fresh Result, REPEAT times.

Usage: /usr/bin/python3 bench/python_bench.py [BUILD]   (default: build)
Env:   REPEAT=N (default 5)
"""

import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time
import json

repo = pathlib.Path(__file__).resolve().parents[1]
build = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else repo / "build").resolve()
sys.path.insert(0, str(build / "python"))
import pydsim  # noqa: E402

repeat = int(os.environ.get("REPEAT", "5"))
dsim = str(build / "dsim")
mm1 = str(repo / "models" / "queueing" / "mm1.toml")
work = pathlib.Path(tempfile.mkdtemp(prefix="pydsim-bench-"))


def median(xs):
    return statistics.median(xs)


print(f"pydsim {pydsim.__version__}, {os.cpu_count()} cores, REPEAT={repeat}")
cli_wall, cli_loop, py_wall, py_loop, events = [], [], [], [], None
for i in range(repeat):
    out = work / f"cli{i}"
    start = time.perf_counter()
    subprocess.run([dsim, "run", mm1, "--set", "simulation.end_time=500000", "--quiet",
                    "--out", str(out)], check=True)
    cli_wall.append(time.perf_counter() - start)
    manifest = json.loads((out / "manifest.json").read_text())
    cli_loop.append(manifest["run"]["run_seconds"])
    events = manifest["run"]["events_processed"]

    out = work / f"py{i}"
    start = time.perf_counter()
    result = pydsim.load(mm1, set={"simulation.end_time": 500000}).run(out=out)
    _ = result.stats
    py_wall.append(time.perf_counter() - start)
    py_loop.append(result.figures["run_seconds"])
    assert result.figures["events_processed"] == events

print(f"run of {events:,} events (mm1, end time 500,000), median of {repeat}:")
print(f"  whole call  dsim run {median(cli_wall):.4f} s   pydsim {median(py_wall):.4f} s   "
      f"pydsim/dsim {median(py_wall) / median(cli_wall):.3f}")
print(f"  event loop  dsim run {median(cli_loop):.4f} s   pydsim {median(py_loop):.4f} s   "
      f"pydsim/dsim {median(py_loop) / median(cli_loop):.3f}")
print(f"  all: dsim wall {[round(x, 4) for x in cli_wall]} pydsim wall "
      f"{[round(x, 4) for x in py_wall]}")

model = pydsim.load(repo / "models" / "epidemic" / "epidemic.toml",
                    set={"entities.people.count": 1000, "output.sample_interval": 0.001})
wide, long = [], []
for i in range(repeat):
    result = model.run()
    points = sum(len(s["value"]) for s in result._raw_series)
    start = time.perf_counter()
    frame = result.series
    wide.append(time.perf_counter() - start)
    start = time.perf_counter()
    tidy = result.series_long
    long.append(time.perf_counter() - start)
    assert frame.size == points and len(tidy) == points
print(f"{points:,} series points into a DataFrame, median of {repeat}: "
      f"wide (Result.series) {1000 * median(wide):.1f} ms, "
      f"long (Result.series_long) {1000 * median(long):.1f} ms")
