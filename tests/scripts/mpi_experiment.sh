#!/usr/bin/env bash
# dsim experiment under mpirun (issue #13): rank 0 hands runs out to every
# rank's workers; the result files must be the one-process experiment's, bit
# for bit (and manifest.json but for its timing), with 1, 2 and 3 ranks, a
# fixed count, a stopping rule and thousands of tiny runs; a run that fails on another rank is
# recorded like one of rank 0's; an experiment killed under mpirun resumes in
# one process; and a bad factor key is one line, exit 2, from rank 0.
# Env (set by CTest): DSIM, DSIM_SOURCE_DIR, DSIM_WITH_MPI.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/mpi.bash"
cd "$tmp" || exit 1
py=/usr/bin/python3
mm1=$DSIM_SOURCE_DIR/models/queueing/mm1.toml
source "$(dirname "${BASH_SOURCE[0]}")/lib/experiment.bash"
fixed=("$mm1" --set simulation.end_time=500 --vary entities.queue.params.servers=1,2,3 --replications 12)
rule=("$mm1" --set simulation.end_time=1000 --vary "entities.queue.params.service=exp(mean=1),exp(mean=0.8)"
  --precision queue.wait.mean=0.1 --max-replications 60)
"$DSIM" experiment "${fixed[@]}" --workers 1 --out fixed-ref -q || fail "fixed, one process: exit $?"
"$DSIM" experiment "${rule[@]}" --workers 1 --out rule-ref -q || fail "rule, one process: exit $?"
for np in 1 2 3; do
  echo "--- $np ranks"
  mpi "$np" experiment "${fixed[@]}" --workers 1 --out "fixed$np" -q
  same_experiment fixed-ref "fixed$np" "fixed count, $np ranks"
  mpi "$np" experiment "${rule[@]}" --workers 2 --out "rule$np" -q
  same_experiment rule-ref "rule$np" "stopping rule, $np ranks x 2 workers"
done

# Tiny runs: batches of up to 1,024 runs, so asks (their results) and
# answers (their tasks) are larger than MPI's eager messages and move only
# while both sides poll them.
echo "--- 4,000 tiny runs on 2 and 3 ranks"
tiny=("$mm1" --set simulation.end_time=20 --replications 4000)
"$DSIM" experiment "${tiny[@]}" --workers 1 --out tiny-ref -q || fail "tiny, one process: exit $?"
for np in 2 3; do
  mpi "$np" experiment "${tiny[@]}" --workers 1 --out "tiny$np" -q
  same_experiment tiny-ref "tiny$np" "4,000 tiny runs, $np ranks"
done

echo "--- a failing point, runs spread over 2 ranks"
faulty=("$DSIM_SOURCE_DIR/tests/data/faulty_ring.toml" --plugin "$DSIM_TEST_PLUGIN" --vary entities.hosts.params.fail_entity=-1,2 --replications 6)
"$DSIM" experiment "${faulty[@]}" --workers 1 --out faulty-ref -q || fail "faulty, one process: exit $?"
mpi 2 experiment "${faulty[@]}" --workers 1 --out faulty2 -q
[ "$rc" -eq 0 ] || fail "faulty, 2 ranks: exit $rc: $(head -c 400 "$tmp/last.err")"
same_experiment faulty-ref faulty2 "failed runs, 2 ranks"
"$py" -c "import json,sys; m=json.load(open('faulty2/manifest.json')); sys.exit(len(m['failures']) != 6)" ||
  fail "faulty, 2 ranks: not 6 failures recorded"

echo "--- killed under mpirun, resumed in one process"
# (Fewer runs under the sanitizers, DSIM_TEST_SCALE=0.1, which run slower.)
reps=$(awk -v s="${DSIM_TEST_SCALE:-1}" 'BEGIN { r = int(400 * s); print (r < 80 ? 80 : r) }')
long=("$mm1" --set simulation.end_time=2000 --replications "$reps" --vary entities.queue.params.servers=1,2)
"$DSIM" experiment "${long[@]}" --workers 2 --out long-ref -q || fail "long, one process: exit $?"
"${MPIRUN[@]}" -np 2 "$DSIM" experiment "${long[@]}" --workers 1 --out long -q >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 500); do
  [ "$(wc -l 2>/dev/null <long/runs.journal || echo 0)" -ge 40 ] && break
  sleep 0.01
done
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
pkill -9 -f "experiment .*--out long " 2>/dev/null
sleep 0.2
checks=$((checks + 1))
[ ! -e long/runs.csv ] || fail "killed under mpirun: it had finished (the kill came too late to test)"
rc=0
"$DSIM" experiment "${long[@]}" --workers 2 --out long --resume -q 2>"$tmp/last.err" || rc=$?
same_experiment long-ref long "killed under mpirun, resumed in one process"

echo "--- bad input under mpirun"
mpi 2 experiment "$mm1" --vary entities.queue.params.servrs=1,2 --out bad -q
[ "$rc" -eq 2 ] || fail "bad key under mpirun: exit $rc, want 2"
[ "$(dsim_lines | wc -l)" -eq 1 ] && dsim_lines | grep -q servrs ||
  fail "bad key under mpirun: not one line naming it: $(cat "$tmp/last.err")"
finish
