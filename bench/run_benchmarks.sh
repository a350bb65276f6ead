#!/usr/bin/env bash
# Runs dsim and the plain std::priority_queue PHOLD loop side by side and
# prints one JSON line per run plus a summary table (docs/benchmarks.md).
#
# Usage: bench/run_benchmarks.sh [BUILD_DIR]      (default: build-bench)
# Env:   REPEAT=N   runs of each case; the summary keeps the fastest (default 3)
#        QUICK=1    shorter runs (a tenth of the events), for a smoke test
#        OUT=FILE   where the JSON lines go (default: BUILD_DIR/benchmarks.jsonl)
# Builds BUILD_DIR (Release, benchmarks on, tests off) if it has no
# bench/bench_model yet. Cases the engine cannot run yet (an unknown sync mode,
# a config another part has not written) are reported as skipped.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

for tool in jq bc column; do
  command -v "$tool" >/dev/null || { echo "run_benchmarks.sh: needs '$tool'" >&2; exit 2; }
done

build=${1:-build-bench}
repeat=${REPEAT:-3}
out=${OUT:-$build/benchmarks.jsonl}
jobs=$(nproc 2>/dev/null || echo 2)
[ "$jobs" -gt 2 ] && jobs=2

if [ ! -x "$build/bench/bench_model" ] || [ ! -x "$build/bench/plain_phold" ]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DDSIM_BUILD_TESTS=OFF \
    -DDSIM_BUILD_BENCH=ON >/dev/null || exit 1
  cmake --build "$build" --target bench_model plain_phold -j "$jobs" || exit 1
fi
plain=$build/bench/plain_phold
dsim=$build/bench/bench_model

# End times: the configs' own, or a tenth of them with QUICK=1.
scale() { if [ "${QUICK:-0}" = 1 ]; then echo "$1 / 10" | bc -l | sed 's/^\./0./'; else echo "$1"; fi; }
end_phold=$(scale 2000)
end_1m=$(scale 20)
end_la=$(scale 1100)
end_mm1=$(scale 500000)   # M/M/1 at load 0.5: ~2 events per time unit -> ~1M events
end_epi=200               # the epidemic must run its course either way

: >"$out"
# run CASE IMPL COMMAND...: runs REPEAT times, appends each JSON line tagged
# with the case to $out; on failure records why and moves on.
run() {
  local case=$1 impl=$2
  shift 2
  local i line err
  for ((i = 1; i <= repeat; ++i)); do
    err=$(mktemp)
    if line=$("$@" 2>"$err"); then
      echo "$line" | jq -c --arg case "$case" --arg impl "$impl" '{case: $case} + . + {impl: $impl}' | tee -a "$out"
    else
      jq -nc --arg case "$case" --arg impl "$impl" --arg why "$(tail -n 1 "$err")" \
        '{case: $case, impl: $impl, skipped: $why}' | tee -a "$out"
      rm -f "$err"
      return
    fi
    rm -f "$err"
  done
}

seq1=(simulation.sync=sequential simulation.threads=1)
par2=(simulation.sync=conservative simulation.threads=2)
opt1=(simulation.sync=optimistic simulation.threads=1)
opt2=(simulation.sync=optimistic simulation.threads=2)

run "phold 16K" plain "$plain" 16384 "$end_phold" 0.1 1 1
run "phold 16K" dsim "$dsim" models/phold/phold.toml "simulation.end_time=$end_phold" "${seq1[@]}"
run "phold 16K" dsim-2t "$dsim" models/phold/phold.toml "simulation.end_time=$end_phold" "${par2[@]}"
run "phold 16K" dsim-opt-1t "$dsim" models/phold/phold.toml "simulation.end_time=$end_phold" \
  "${opt1[@]}"
run "phold 16K" dsim-opt-2t "$dsim" models/phold/phold.toml "simulation.end_time=$end_phold" \
  "${opt2[@]}"

# MPI (docs/mpi.md): 2 processes x 1 thread on this machine, against 2
# threads of one process above; workers driving communication (the default)
# and a communication thread per rank. Their cpu figures count rank 0's
# process only (wall figures cover the whole run).
if command -v mpirun >/dev/null; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  mpi2=(mpirun --oversubscribe --bind-to core -np 2)
  run "phold 16K" dsim-mpi-2r "${mpi2[@]}" "$dsim" models/phold/phold.toml \
    "simulation.end_time=$end_phold" simulation.sync=conservative simulation.threads=1
  run "phold 16K" dsim-mpi-opt-2r "${mpi2[@]}" "$dsim" models/phold/phold.toml \
    "simulation.end_time=$end_phold" simulation.sync=optimistic simulation.threads=1
  run "phold 16K" dsim-mpi-opt-2r-commthread "${mpi2[@]}" -x DSIM_MPI_PROGRESS=thread "$dsim" \
    models/phold/phold.toml "simulation.end_time=$end_phold" simulation.sync=optimistic \
    simulation.threads=1
fi

run "phold 1M" plain "$plain" 1048576 "$end_1m" 0.1 1 1
run "phold 1M" dsim "$dsim" models/phold/phold_1m.toml "simulation.end_time=$end_1m" "${seq1[@]}"
run "phold 1M" dsim-2t "$dsim" models/phold/phold_1m.toml "simulation.end_time=$end_1m" "${par2[@]}"

run "phold remote 0.5" plain "$plain" 16384 "$end_phold" 0.5 1 1
run "phold remote 0.5" dsim "$dsim" models/phold/phold_remote05.toml \
  "simulation.end_time=$end_phold" "${seq1[@]}"
run "phold remote 0.5" dsim-2t "$dsim" models/phold/phold_remote05.toml \
  "simulation.end_time=$end_phold" "${par2[@]}"

run "phold lookahead 0.1" plain "$plain" 16384 "$end_la" 0.5 0.1 1
run "phold lookahead 0.1" dsim "$dsim" models/phold/phold_la01.toml \
  "simulation.end_time=$end_la" "${seq1[@]}"
run "phold lookahead 0.1" dsim-2t "$dsim" models/phold/phold_la01.toml \
  "simulation.end_time=$end_la" "${par2[@]}"
run "phold lookahead 0.1" dsim-opt-1t "$dsim" models/phold/phold_la01.toml \
  "simulation.end_time=$end_la" "${opt1[@]}"
run "phold lookahead 0.1" dsim-opt-2t "$dsim" models/phold/phold_la01.toml \
  "simulation.end_time=$end_la" "${opt2[@]}"

# Zero lookahead: conservative must refuse it; sequential vs optimistic.
run "phold lookahead 0" dsim "$dsim" models/phold/phold_la0.toml \
  "simulation.end_time=$end_la" "${seq1[@]}"
run "phold lookahead 0" dsim-opt-2t "$dsim" models/phold/phold_la0.toml \
  "simulation.end_time=$end_la" "${opt2[@]}"

run "M/M/1 1M events" dsim "$dsim" models/queueing/mm1.toml "simulation.end_time=$end_mm1" \
  "${seq1[@]}"

run "epidemic 1M" dsim "$dsim" models/epidemic/epidemic_1m.toml "simulation.end_time=$end_epi" \
  "${seq1[@]}"
run "epidemic 1M" dsim-2t "$dsim" models/epidemic/epidemic_1m.toml \
  "simulation.end_time=$end_epi" "${par2[@]}"

echo
echo "Fastest of $repeat per case (JSON lines in $out). M/s: events per second of"
echo "the event loop (wall) and per CPU second of set-up + loop (cpu); x: dsim / plain."
jq -rs '
  def r2: . * 100 | round / 100;
  def mib: . / 1048576 | round;
  def best: map(select(.skipped == null)) | max_by(.event_rate);
  ["case", "impl", "events", "wall M/s", "cpu M/s", "init s", "peak MiB", "x wall", "x cpu"],
  (group_by(.case)[] as $runs
   | ($runs | map(select(.impl == "plain")) | best) as $p
   | ($runs | map(.impl) | unique)[] as $i
   | ($runs | map(select(.impl == $i))) as $mine
   | ($mine | best) as $r
   | if $r == null then [$runs[0].case, $i, "skipped: \($mine[0].skipped[0:70])"]
     else [$r.case, "\($i)\(if $r.sync then " (\($r.sync))" else "" end)", $r.events,
           ($r.event_rate / 1e6 | r2), ($r.cpu_event_rate / 1e6 | r2), $r.init_seconds,
           ($r.peak_rss_bytes | mib)]
          + (if $p != null and $i != "plain"
             then [($r.event_rate / $p.event_rate | r2), ($r.cpu_event_rate / $p.cpu_event_rate | r2)]
             else [] end)
     end)
  | map(tostring) | join("\t")' "$out" | column -t -s $'\t'
