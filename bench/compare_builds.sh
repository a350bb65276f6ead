#!/usr/bin/env bash
# Before/after comparison of two builds' bench_model, case by case: each case
# runs on the "before" build, then on the "after" build, alternating, ROUNDS
# times, so both see the same state of a shared machine (a VM's speed drifts
# by 10-20 % over minutes, which run_benchmarks.sh, one build after the
# other, cannot tell from a change). Prints per case the fastest and the
# median event rate of each build and the differences (docs/benchmarks.md,
# issue #10's 3 % bar).
#
# Usage: bench/compare_builds.sh BEFORE_BUILD_DIR AFTER_BUILD_DIR
#   e.g. git worktree add /tmp/before 54ad5c6 && cmake -S /tmp/before -B /tmp/before/b \
#          -DCMAKE_BUILD_TYPE=Release -DDSIM_BUILD_TESTS=OFF -DDSIM_BUILD_BENCH=ON &&
#        cmake --build /tmp/before/b --target bench_model && bench/compare_builds.sh /tmp/before/b build
# Env:   ROUNDS=N (default 7), CASES="seq opt2t ..." (default: all), OUT=FILE
#        (JSON lines; default: a temporary file)
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[ $# -eq 2 ] || { echo "usage: $0 BEFORE_BUILD_DIR AFTER_BUILD_DIR" >&2; exit 2; }
before=$1/bench/bench_model
after=$2/bench/bench_model
for b in "$before" "$after"; do [ -x "$b" ] || { echo "compare_builds.sh: no $b" >&2; exit 2; }; done
command -v jq >/dev/null || { echo "compare_builds.sh: needs jq" >&2; exit 2; }
rounds=${ROUNDS:-7}
out=${OUT:-$(mktemp)}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

p=models/phold
seq1="simulation.sync=sequential simulation.threads=1"
# name | model | overrides; a model of "mpi:" runs under mpirun -np 2.
all=(
  "seq|$p/phold.toml|simulation.end_time=2000 $seq1"
  "cons2t|$p/phold.toml|simulation.end_time=2000 simulation.sync=conservative simulation.threads=2"
  "opt1t|$p/phold.toml|simulation.end_time=2000 simulation.sync=optimistic simulation.threads=1"
  "opt2t|$p/phold.toml|simulation.end_time=2000 simulation.sync=optimistic simulation.threads=2"
  "mpicons|mpi:$p/phold.toml|simulation.end_time=2000 simulation.sync=conservative simulation.threads=1"
  "mpiopt|mpi:$p/phold.toml|simulation.end_time=2000 simulation.sync=optimistic simulation.threads=1"
  "la01seq|$p/phold_la01.toml|simulation.end_time=1100 $seq1"
  "la01cons2t|$p/phold_la01.toml|simulation.end_time=1100 simulation.sync=conservative simulation.threads=2"
  "la01opt2t|$p/phold_la01.toml|simulation.end_time=1100 simulation.sync=optimistic simulation.threads=2"
  "rem05cons2t|$p/phold_remote05.toml|simulation.end_time=2000 simulation.sync=conservative simulation.threads=2"
  "phold1m|$p/phold_1m.toml|simulation.end_time=20 $seq1"
  "epidemic1m|models/epidemic/epidemic_1m.toml|simulation.end_time=200 $seq1"
  "mm1|models/queueing/mm1.toml|simulation.end_time=500000 $seq1"
)
wanted=" ${CASES:-} "
: >"$out"
for ((r = 1; r <= rounds; ++r)); do
  for c in "${all[@]}"; do
    IFS='|' read -r name model sets <<<"$c"
    [ "$wanted" = "  " ] || [[ $wanted == *" $name "* ]] || continue
    for which in before after; do
      bin=$before
      [ "$which" = after ] && bin=$after
      # shellcheck disable=SC2086  # the overrides are words
      if [[ $model == mpi:* ]]; then
        line=$(mpirun --oversubscribe --bind-to core -np 2 "$bin" "${model#mpi:}" $sets 2>/dev/null)
      else
        line=$("$bin" "$model" $sets 2>/dev/null)
      fi
      echo "$line" | jq -c --arg n "$name" --arg w "$which" \
        '{case: $n, build: $w, rate: .event_rate, gvt_rounds: .gvt_rounds}' >>"$out" ||
        echo "{\"case\":\"$name\",\"build\":\"$which\",\"rate\":null}" >>"$out"
    done
  done
done
echo "JSON lines in $out; M events/s of the event loop (wall), $rounds rounds"
/usr/bin/python3 - "$out" <<'PYEOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
cases = list(dict.fromkeys(r["case"] for r in rows))
print(f"{'case':12} {'before best':>11} {'after best':>10} {'diff':>7}   {'before med':>10} {'after med':>9} {'diff':>7}")
for c in cases:
    b = [r["rate"] / 1e6 for r in rows if r["case"] == c and r["build"] == "before" and r["rate"]]
    a = [r["rate"] / 1e6 for r in rows if r["case"] == c and r["build"] == "after" and r["rate"]]
    if not a or not b:
        print(f"{c:12} failed")
        continue
    mb, ma = statistics.median(b), statistics.median(a)
    print(f"{c:12} {max(b):11.2f} {max(a):10.2f} {100 * (max(a) / max(b) - 1):+6.1f}%   "
          f"{mb:10.2f} {ma:9.2f} {100 * (ma / mb - 1):+6.1f}%")
PYEOF
