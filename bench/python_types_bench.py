"""Entity types written in Python against C++ and a pure-Python loop
(issue #15), for docs/benchmarks.md.

PHOLD with models/phold/phold.toml's settings (16,384 entities, remote 0.1,
delay 1 + Exp(1)) to END_TIME (default 100: ~810,000 events), each run as
`dsim run` (the event loop's seconds from manifest.json), REPEAT times,
alternating:
  cpp        the C++ model (models/phold)
  phold_py   examples/python/phold.py, plain Python handlers
  phold_jit  the same with @pydsim.jit handlers (Numba), when it exists,
             sequential and conservative on 2 threads
and the yardstick, in the same session: bench/phold_heapq.py, a pure-Python
heapq loop doing the same work with the same draws (its event count must
equal dsim's). Also the engine's cost of one Python handler call: a type
whose handler only sends itself the next event, per event.

Usage: /usr/bin/python3 bench/python_types_bench.py [BUILD]   (default: build)
Env:   REPEAT=N (default 3), END_TIME=T (default 100)
"""

import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import textwrap

repo = pathlib.Path(__file__).resolve().parents[1]
build = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else repo / "build").resolve()
dsim = str(build / "dsim")
repeat = int(os.environ.get("REPEAT", "3"))
end = float(os.environ.get("END_TIME", "100"))
work = pathlib.Path(tempfile.mkdtemp(prefix="pytypes-bench-"))
sys.path.insert(0, str(repo / "bench"))
import phold_heapq  # noqa: E402


def config(type_name: str) -> pathlib.Path:
    text = (repo / "models" / "phold" / "phold.toml").read_text()
    if type_name != "phold":
        text = f'plugins = ["{repo / "examples" / "python" / "phold.py"}"]\n' + text.replace(
            'type = "phold"', f'type = "{type_name}"')
    path = work / f"{type_name}.toml"
    path.write_text(text)
    return path


def run(path: pathlib.Path, *args: str) -> tuple[float, int]:
    out = work / "out"
    subprocess.run([dsim, "run", str(path), "--quiet", "--set", f"simulation.end_time={end}",
                    "--out", str(out), *args], check=True)
    figures = json.loads((out / "manifest.json").read_text())["run"]
    return figures["run_seconds"], figures["events_processed"]


listed = subprocess.run([dsim, "list", "--plugin", str(repo / "examples" / "python" / "phold.py")],
                        capture_output=True, text=True, check=True).stdout
has_jit = "\nphold_jit\n" in "\n" + listed
cases = [("cpp", config("phold"), ()), ("phold_py", config("phold_py"), ())]
if has_jit:
    cases += [("phold_jit 1 thread", config("phold_jit"), ("--threads", "1")),
              ("phold_jit 2 threads", config("phold_jit"),
               ("--threads", "2", "--sync", "conservative"))]
    cases += [("cpp 2 threads", config("phold"), ("--threads", "2", "--sync", "conservative"))]
times = {name: [] for name, _, _ in cases}
times["heapq"] = []
events = None
for _ in range(repeat):
    for name, path, args in cases:
        seconds, n = run(path, *(args or ("--threads", "1")))
        assert events in (None, n), f"{name}: {n} events, not {events}"
        events = n
        times[name].append(seconds)
    import time
    start = time.perf_counter()
    n = phold_heapq.phold(end, 16384)
    times["heapq"].append(time.perf_counter() - start)
    assert n == events, f"heapq: {n} events, not {events}"

print(f"PHOLD, 16,384 entities, end time {end:g}: {events:,} events; median of {repeat}")
for name, ts in times.items():
    t = statistics.median(ts)
    print(f"  {name:22s} {t:8.3f} s  {events / t / 1e6:7.3f} M events/s  "
          f"{1e6 * t / events:7.3f} us/event")
py = statistics.median(times["phold_py"])
print(f"  phold_py vs heapq: {statistics.median(times['heapq']) / py:.2f}x")
if has_jit:
    j1 = statistics.median(times["phold_jit 1 thread"])
    j2 = statistics.median(times["phold_jit 2 threads"])
    print(f"  phold_jit vs C++ (1 thread): {statistics.median(times['cpp']) / j1:.2f}x; "
          f"phold_jit 2 threads vs 1: {j1 / j2:.2f}x")

# The engine's part of a Python handler call.
script = work / "tick.py"
script.write_text(textwrap.dedent('''
    import pydsim
    Tick = pydsim.payload("tick.tick")
    @pydsim.entity_type("tick")
    class T:
        def __init__(self, setup):
            pass
        def init(self, state, ctx):
            ctx.send(ctx.self, Tick, 1.0)
        @pydsim.handler(Tick)
        def on(self, state, tick, ctx):
            ctx.send(ctx.self, Tick, 1.0)
'''))
tick = work / "tick.toml"
tick.write_text(f'plugins = ["{script}"]\n[simulation]\nend_time = 10000.0\n'
                '[[entities]]\nname = "t"\ntype = "tick"\ncount = 100\n')
calls = []
for _ in range(repeat):
    out = work / "tick-out"
    subprocess.run([dsim, "run", str(tick), "--quiet", "--out", str(out)], check=True)
    f = json.loads((out / "manifest.json").read_text())["run"]
    calls.append(f["run_seconds"] / f["events_processed"])
print(f"a Python handler that only sends: {1e6 * statistics.median(calls):.3f} us/event "
      "(the engine's part of a call, with one send)")
