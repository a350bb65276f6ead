#!/usr/bin/env bash
# Checkpoint costs on sequential PHOLD with 1,048,576 entities
# (models/phold/phold_1m.toml, end time 20), for docs/benchmarks.md:
#  - the run without checkpoints and with one every 5 of simulated time
#    (3 checkpoints), alternating, REPEAT times each: wall time, overhead;
#  - from manifest.json: the workers' longest pause per checkpoint, bytes
#    per checkpoint and per entity, the writer's seconds (-> throughput);
#  - resuming the last checkpoint: seconds until the event loop starts
#    (init_seconds, which includes reading the checkpoint) and dsim's wall;
#  - the disk's own sequential write throughput (dd with fdatasync).
# Usage: bench/checkpoint_bench.sh [DSIM]     (default: build/dsim)
# Env:   REPEAT=N (default 3), WORK=DIR (default: a temporary directory)
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
dsim=$(realpath "${1:-build/dsim}")
model=$(realpath models/phold/phold_1m.toml)
repeat=${REPEAT:-3}
work=${WORK:-$(mktemp -d)}
mkdir -p "$work" && cd "$work" || exit 1
command -v jq >/dev/null || { echo "checkpoint_bench.sh: needs jq" >&2; exit 2; }

field() { jq -r ".run.$2" "$1/manifest.json"; }
for ((i = 1; i <= repeat; ++i)); do
  rm -rf plain ck ck.checkpoints
  "$dsim" run "$model" --sync sequential -q -o plain || exit 1
  "$dsim" run "$model" --sync sequential -q -o ck --checkpoint-every 5 --checkpoint-keep 3 || exit 1
  echo "{\"case\":\"phold_1m\",\"plain_wall\":$(field plain wall_seconds),\"ckpt_wall\":$(field ck wall_seconds),\"checkpoints\":$(field ck checkpoints_written),\"pause_max\":$(field ck checkpoint_pause_max),\"pause_total\":$(field ck checkpoint_pause_total),\"bytes\":$(field ck checkpoint_bytes),\"write_seconds\":$(field ck checkpoint_write_seconds)}"
done | tee runs.jsonl
cmp -s plain/results.csv ck/results.csv || echo "WARNING: results differ" >&2

last=$(ls -d ck.checkpoints/ckpt-* | tail -n 1)
start=$(date +%s.%N)
"$dsim" resume "$last" -q -o resumed --checkpoint-dir resumed.checkpoints || exit 1
end=$(date +%s.%N)
cmp -s plain/results.csv resumed/results.csv || echo "WARNING: resumed results differ" >&2
echo "{\"case\":\"resume\",\"init_seconds\":$(field resumed init_seconds),\"wall\":$(echo "$end - $start" | bc -l),\"checkpoint\":\"$(basename "$last")\"}" | tee -a runs.jsonl

dd if=/dev/zero of=ddtest bs=1M count=256 conv=fdatasync 2>dd.txt
echo "{\"case\":\"disk\",\"dd\":\"$(tail -n 1 dd.txt)\"}" | tee -a runs.jsonl
rm -f ddtest

jq -s -r '
  (map(select(.case == "phold_1m"))) as $r
  | ($r | map(.plain_wall) | min) as $p | ($r | map(.ckpt_wall) | min) as $c
  | def median: sort | if length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end;
    def pct(a; b): ((a / b - 1) * 100 * 10 | round) / 10;
    ($r | map(.plain_wall) | median) as $pm | ($r | map(.ckpt_wall) | median) as $cm
  | "plain (fastest of \($r | length))  \($p) s, median \($pm) s",
    "with 3 checkpoints       \($c) s  overhead \(pct($c; $p)) %; median \($cm) s  overhead \(pct($cm; $pm)) %",
    "each pair (same order)   overhead median \($r | map(pct(.ckpt_wall; .plain_wall)) | median) %",
    "longest pause            \($r | map(.pause_max) | max) s",
    "bytes per checkpoint     \(($r[0].bytes / $r[0].checkpoints) | round)  per entity \((($r[0].bytes / $r[0].checkpoints / 1048576) * 10 | round) / 10)",
    "writer throughput        \((($r[0].bytes / $r[0].write_seconds / 1048576) * 10 | round) / 10) MiB/s"' runs.jsonl
