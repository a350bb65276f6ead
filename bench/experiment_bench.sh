#!/usr/bin/env bash
# Experiment overhead and scaling (issue #13), for docs/benchmarks.md:
# 10,000 replications of a tiny M/M/1 (models/queueing/mm1.toml, end time
# 700: ~1,400 events a run), alternating REPEAT times:
#  - 1 worker, 2 workers (one process);
#  - under mpirun: 1 rank and 2 ranks of 1 worker each;
# and the yardsticks, in the same session: the same events in one long run
# (end time 7,000,000), whose event rate gives the runs' own event time; and
# two 1-worker experiments at once in two processes (nothing shared): what
# two cores of this machine give at best (capacity = 2 x alone / together).
# Per-run overhead = (experiment wall - events / rate) / runs, with the
# experiment's wall from manifest.json (timing.wall_seconds: from the start
# of the runs to the last file written).
# Usage: bench/experiment_bench.sh [DSIM]     (default: build/dsim)
# Env:   REPEAT=N (default 3), WORK=DIR (default: a temporary directory)
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
dsim=$(realpath "${1:-build/dsim}")
model=$(realpath models/queueing/mm1.toml)
repeat=${REPEAT:-3}
work=${WORK:-$(mktemp -d)}
mkdir -p "$work" && cd "$work" || exit 1
command -v jq >/dev/null || { echo "experiment_bench.sh: needs jq" >&2; exit 2; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mpirun=(mpirun --oversubscribe --bind-to none --mca btl_vader_single_copy_mechanism none)
exp=(experiment "$model" --set simulation.end_time=700 --replications 10000 -q)
wall() { jq -r '.timing.wall_seconds' "$1/manifest.json"; }

rm -rf long && "$dsim" run "$model" --set simulation.end_time=7000000 -q -o long || exit 1
rate=$(jq -r '.run.event_rate' long/manifest.json)
for ((i = 1; i <= repeat; ++i)); do
  rm -rf w1 w2 r1 r2 pa pb
  "$dsim" "${exp[@]}" --workers 1 --out w1 || exit 1
  "$dsim" "${exp[@]}" --workers 1 --out pa & a=$!
  "$dsim" "${exp[@]}" --workers 1 --out pb & b=$!
  wait $a $b
  "$dsim" "${exp[@]}" --workers 2 --out w2 || exit 1
  "${mpirun[@]}" -np 1 "$dsim" "${exp[@]}" --workers 1 --out r1 || exit 1
  "${mpirun[@]}" -np 2 "$dsim" "${exp[@]}" --workers 1 --out r2 || exit 1
  events=$(jq '[.runs[].events] | add' w1/runs.json)
  pair=$(/usr/bin/python3 -c "print(max($(wall pa), $(wall pb)))")
  echo "{\"w1\":$(wall w1),\"w2\":$(wall w2),\"r1\":$(wall r1),\"r2\":$(wall r2),\"pair\":$pair,\"events\":$events,\"rate\":$rate}"
done | tee runs.jsonl
for d in w2 r1 r2; do cmp -s w1/runs.csv $d/runs.csv || echo "WARNING: $d/runs.csv differs" >&2; done
/usr/bin/python3 - runs.jsonl <<'PYEOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
med = lambda k: statistics.median(r[k] for r in rows)
ev, rate = rows[0]["events"], rows[0]["rate"]
print(f"events in all runs {ev}, event rate of one long run {rate/1e6:.1f} M/s "
      f"-> {ev/rate:.3f} s of events")
for k, what in (("w1", "1 worker"), ("w2", "2 workers"), ("r1", "mpirun -np 1"),
                ("r2", "mpirun -np 2")):
    print(f"{what:14s} median {med(k):.3f} s, best {min(r[k] for r in rows):.3f} s")
print(f"per-run overhead (1 worker, median): {(med('w1') - ev / rate) / 10000 * 1e6:.1f} us")
print(f"2 workers / 1 worker: {med('w1') / med('w2'):.2f}x; "
      f"2 ranks / 1 rank: {med('r1') / med('r2'):.2f}x (medians)")
print(f"yardstick: two 1-worker experiments at once: {med('pair'):.3f} s each (median) "
      f"-> this machine's 2-core capacity {2 * med('w1') / med('pair'):.2f}x")
PYEOF
