#!/usr/bin/env bash
# Every reference model under mpirun at 1, 2, 3 and 4 processes x 1 and 2
# threads, in every sync mode that applies to it, gives results identical, bit
# for bit, to the sequential run (rank 0 writes them; under the sanitizers 2
# and 3 processes). One run per model is
# sequential under mpirun (rank 0 runs it), one leaves the choice to auto, and
# one is forced onto TCP.
set -uo pipefail
source "$(dirname "$0")/lib/mpi.bash"
models=$DSIM_SOURCE_DIR/models

# model END_TIME SYNC_MODES...: the matrix for one config (END_TIME "" keeps
# the config's; shorter ones keep the CI fast).
model() {
  local config=$1 end=$2
  shift 2
  local name
  name=$(basename "$config" .toml)
  local args=(run "$config" -q)
  [ -n "$end" ] && args+=(--end-time "$end")
  "$DSIM" "${args[@]}" --sync sequential --out "$tmp/$name.ref" >/dev/null 2>"$tmp/last.err" ||
    { fail "$name: the sequential run failed: $(cat "$tmp/last.err")"; return; }
  for sync in "$@"; do
    for np in $process_counts; do
      for threads in 1 2; do
        local out=$tmp/$name.$sync.$np.$threads
        mpi "$np" "${args[@]}" --sync "$sync" --threads "$threads" --out "$out"
        same_results "$tmp/$name.ref" "$out" "$name $sync np=$np threads=$threads"
        rm -rf "$out"
      done
    done
  done
  mpi 2 "${args[@]}" --sync sequential --out "$tmp/$name.seq2"
  same_results "$tmp/$name.ref" "$tmp/$name.seq2" "$name sequential np=2"
  # auto picks conservative across processes, or optimistic where a link has
  # zero lookahead (which one process would run sequentially).
  mpi 2 "${args[@]}" --sync auto --threads 2 --out "$tmp/$name.auto2"
  same_results "$tmp/$name.ref" "$tmp/$name.auto2" "$name auto np=2 threads=2"
}

# Under the sanitizers (DSIM_TEST_SCALE < 1) one model of each kind, on 2
# and 3 processes (the release build runs the whole matrix; the sanitizers
# look for memory and thread errors, which these layouts reach).
process_counts="1 2 3 4"
if awk -v s="${DSIM_TEST_SCALE:-1}" 'BEGIN { exit !(s < 1) }'; then
  process_counts="2 3"
  echo "--- DSIM_TEST_SCALE=$DSIM_TEST_SCALE: phold and jackson only, 2 and 3 processes"
  model "$models/phold/phold_remote05.toml" 5 conservative optimistic
  model "$models/queueing/jackson.toml" 5000 optimistic
else
  echo "--- phold"
  model "$models/phold/phold.toml" 20 conservative optimistic
  model "$models/phold/phold_la01.toml" 15 conservative optimistic
  model "$models/phold/phold_remote05.toml" 20 conservative optimistic
  model "$models/phold/phold_la0.toml" 5 optimistic
  echo "--- epidemic"
  model "$models/epidemic/epidemic.toml" "" conservative optimistic
  echo "--- queueing (zero-lookahead links: optimistic only)"
  for q in mm1 mm1_rho09 mmc mmck tandem jackson; do
    model "$models/queueing/$q.toml" 20000 optimistic
  done
fi

echo "--- the TCP transport (--mca btl tcp,self), graph partitioner"
phold=$models/phold/phold_remote05.toml
"$DSIM" run "$phold" -q --end-time 20 --sync sequential --partitioner graph --out "$tmp/tcp.ref" >/dev/null
for sync in conservative optimistic; do
  # Over the loopback interface, which every machine has (OpenMPI leaves it
  # out by default).
  timeout -k 5 "$(scaled 120)" "${MPIRUN[@]}" --mca btl tcp,self --mca btl_tcp_if_include lo -np 3 \
    "$DSIM" run "$phold" -q --end-time 20 \
    --sync "$sync" --threads 2 --partitioner graph --out "$tmp/tcp.$sync" \
    >"$tmp/last.out" 2>"$tmp/last.err" </dev/null
  rc=$?
  same_results "$tmp/tcp.ref" "$tmp/tcp.$sync" "tcp $sync np=3 threads=2"
done
echo "--- a communication thread per rank (DSIM_MPI_PROGRESS=thread)"
timeout -k 5 "$(scaled 120)" "${MPIRUN[@]}" -x DSIM_MPI_PROGRESS=thread -np 3 "$DSIM" run "$phold" -q \
  --end-time 20 --sync optimistic --threads 2 --partitioner graph --out "$tmp/thread" \
  >"$tmp/last.out" 2>"$tmp/last.err" </dev/null
rc=$?
same_results "$tmp/tcp.ref" "$tmp/thread" "communication thread, optimistic np=3 threads=2"

grep -q '"ranks": 3' "$tmp/tcp.optimistic/manifest.json" ||
  fail "the manifest of a 3-process run does not say \"ranks\": 3"
grep -q '"rank_edge_cut"' "$tmp/tcp.optimistic/manifest.json" ||
  fail "the manifest does not report the cut between ranks"

finish
