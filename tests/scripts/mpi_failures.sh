#!/usr/bin/env bash
# Failure under mpirun is loud and total: bad input, a model's exception and
# a lookahead violation on any process stop every process with one "dsim:"
# message (naming the rank, entity and cause) and a non-zero exit; a process
# killed with SIGKILL ends the job within seconds. No results are left.
set -uo pipefail
source "$(dirname "$0")/lib/mpi.bash"
: "${DSIM_TEST_PLUGIN:?}"
phold=$DSIM_SOURCE_DIR/models/phold/phold.toml

expect_rc() {  # expect_rc WANT LABEL
  [ "$rc" -eq "$1" ] || fail "$2: exit $rc, want $1; stderr: $(head -c 800 "$tmp/last.err")"
}
# Exactly one dsim message, containing every PATTERN.
expect_one_message() {  # expect_one_message LABEL PATTERN...
  local label=$1
  shift
  local n
  n=$(dsim_lines | wc -l)
  [ "$n" -eq 1 ] || fail "$label: $n dsim messages, want 1: $(cat "$tmp/last.err")"
  for pattern in "$@"; do
    dsim_lines | grep -qF -- "$pattern" || fail "$label: the message lacks '$pattern': $(dsim_lines)"
  done
}
expect_no_results() {  # expect_no_results DIR LABEL
  [ ! -e "$1/manifest.json" ] || fail "$2: a failed run left $1/manifest.json"
}

echo "--- bad input: every process has it, rank 0 says it once"
mpi 3 run "$tmp/missing.toml" --out "$tmp/r1"
expect_rc 2 "missing config"
expect_one_message "missing config" "missing.toml" "cannot read"
expect_no_results "$tmp/r1" "missing config"

mpi 2 run "$phold" --set simulation.end_time=-1 --out "$tmp/r2"
expect_rc 2 "bad end_time"
expect_one_message "bad end_time" "end_time"

echo "x" >"$tmp/a_file"
mpi 2 run "$phold" --end-time 1 --out "$tmp/a_file"
expect_rc 2 "output is a file"
expect_one_message "output is a file" "a_file"

DSIM_MPI_PROGRESS=bogus mpi 2 run "$phold" --end-time 1 --sync optimistic --out "$tmp/r3"
expect_rc 2 "bad DSIM_MPI_PROGRESS"
expect_one_message "bad DSIM_MPI_PROGRESS" "DSIM_MPI_PROGRESS" "bogus"

echo "--- an output directory rank 0 cannot create: refused before the run, said once"
if ! mkdir /sys/dsim_probe 2>/dev/null; then  # sysfs refuses new directories
  mpi 2 run "$phold" --end-time 1 --out /sys/dsim_out
  expect_rc 2 "unwritable output"
  expect_one_message "unwritable output" "cannot create output directory '/sys/dsim_out'"
else
  rmdir /sys/dsim_probe
  echo "(skipped: /sys accepts directories here)"
fi

echo "--- a model's exception on rank 2 (entity 50 of 60, block partitioner)"
cat >"$tmp/faulty.toml" <<TOML
plugins = ["$DSIM_TEST_PLUGIN"]
[simulation]
end_time = 50.0
seed = 3
[[entities]]
name = "hoppers"
type = "faulty"
count = 60
params = { fail_entity = 50, fail_at = 10.0, delay = 1.0 }
[[links]]
from = "hoppers"
to = "hoppers"
topology = "ring"
k = 2
lookahead = 1.0
TOML
"$DSIM" run "$tmp/faulty.toml" --sync sequential --out "$tmp/f0" 2>"$tmp/seq.err" >/dev/null
seq_message=$(sed 's/^dsim: //' "$tmp/seq.err")
[ -n "$seq_message" ] || fail "the sequential faulty run did not fail"
for sync in conservative optimistic; do
  for threads in 1 2; do
    label="model error $sync np=3 threads=$threads"
    mpi 3 run "$tmp/faulty.toml" --sync "$sync" --threads "$threads" --out "$tmp/f1"
    expect_rc 1 "$label"
    # The sequential run's message (the same first failure), with the rank.
    expect_one_message "$label" "rank 2: $seq_message"
    expect_no_results "$tmp/f1" "$label"
  done
done

echo "--- a lookahead violation (hops of 0.5+ on links declaring 1.0)"
sed -e 's/delay = 1.0/delay = 0.5/' -e 's/fail_entity = 50/fail_entity = -1/' \
  "$tmp/faulty.toml" >"$tmp/lookahead.toml"
mpi 2 run "$tmp/lookahead.toml" --sync conservative --threads 2 --out "$tmp/l1"
expect_rc 1 "lookahead violation"
expect_one_message "lookahead violation" "rank " "entity hoppers[" "below the lookahead 1"
expect_no_results "$tmp/l1" "lookahead violation"

echo "--- SIGKILL of rank 1 ends the job"
for sync in conservative optimistic; do
  label="SIGKILL $sync"
  out=$tmp/killed.$sync
  start=$(date +%s)
  timeout -k 5 "$(scaled 120)" "${MPIRUN[@]}" -np 3 "$DSIM" run "$phold" --end-time 1e6 \
    --sync "$sync" --threads 1 --out "$out" >"$tmp/last.out" 2>"$tmp/last.err" </dev/null &
  job=$!
  victim=""
  for _ in $(seq 100); do  # up to 10 s for the processes to start
    for pid in $(pgrep -f -- "--out $out" || true); do
      if tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qx 'OMPI_COMM_WORLD_RANK=1'; then
        victim=$pid
      fi
    done
    [ -n "$victim" ] && break
    sleep 0.1
  done
  if [ -z "$victim" ]; then
    fail "$label: rank 1 never started"
    kill "$job" 2>/dev/null
    wait "$job"
    continue
  fi
  sleep 1  # in the middle of the run
  kill -9 "$victim"
  wait "$job"
  rc=$?
  took=$(($(date +%s) - start))
  [ "$rc" -ne 0 ] || fail "$label: mpirun exited 0"
  # (mpirun's own status is 128 + 9 here; the timeout would take longer.)
  [ "$took" -le "$(scaled 60)" ] || fail "$label: the job took $took s to end"
  grep -q "signal 9" "$tmp/last.err" || fail "$label: nothing says a process was killed: $(cat "$tmp/last.err")"
  expect_no_results "$out" "$label"
  sleep 2
  left=$(pgrep -f -- "--out $out" || true)
  [ -z "$left" ] || fail "$label: processes left behind: $left"
  echo "$label: mpirun exited $rc after $took s"
done

echo "--- validate and --version print once"
mpi 2 validate "$phold"
expect_rc 0 "validate"
[ "$(grep -c '^plan ' "$tmp/last.out")" -eq 1 ] || fail "validate: $(cat "$tmp/last.out")"
grep -q 'ranks=2 rank_edge_cut=' "$tmp/last.out" || fail "validate does not show the ranks: $(cat "$tmp/last.out")"
mpi 3 --version
[ "$(grep -c '^dsim ' "$tmp/last.out")" -eq 1 ] || fail "--version: $(cat "$tmp/last.out")"
grep -q 'with MPI' "$tmp/last.out" || fail "--version does not say MPI is built in"

finish
