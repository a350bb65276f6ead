#!/usr/bin/env bash
# Checkpoints under mpirun (issue #11): every rank writes its shard and the
# checkpoint counts once rank 0 wrote the index; a checkpoint written by 2
# processes resumes on 1 and 3 processes (and one of 1 process on 2), in the
# parallel engines, with results identical to the sequential run's; and
# `dsim supervise -- mpirun ... dsim run ...` finishes a job one of whose
# ranks was SIGKILLed.
set -uo pipefail
source "$(dirname "$0")/lib/mpi.bash"
phold=$DSIM_SOURCE_DIR/models/phold/phold.toml
small=(--set entities.phold.count=1024 --end-time 300)
cd "$tmp" || exit 1

"$DSIM" run "$phold" "${small[@]}" --sync sequential -q -o ref || fail "reference run"

mpi 2 run "$phold" "${small[@]}" --sync conservative --threads 2 -q -o two \
  --checkpoint-every 60 --checkpoint-keep 5
same_results ref two "2 processes with checkpoints"
for c in two.checkpoints/ckpt-*; do
  [ -f "$c/shard-0-of-2" ] && [ -f "$c/shard-1-of-2" ] && [ -f "$c/index" ] ||
    fail "$c: not two shards and an index: $(ls "$c")"
done
"$DSIM" checkpoints two.checkpoints | grep -q "2 ranks x 2 threads, conservative" ||
  fail "listing: $("$DSIM" checkpoints two.checkpoints)"

for c in $(ls -d two.checkpoints/ckpt-* | head -n 2); do
  for np_sync in "1 optimistic" "3 conservative" "3 optimistic"; do
    set -- $np_sync
    out="r-$(basename "$c")-$1-$2"
    mpi "$1" resume "$c" --sync "$2" --threads 1 -q -o "$out"
    same_results ref "$out" "resume of $c on $1 processes, $2"
  done
done
# Time Warp on 2 processes: each checkpoint's cut counts the events
# committed before it over both processes, so a resumed run's
# events_processed is the whole run's, as uninterrupted.
events() { /usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["run"]["events_processed"])' "$1/manifest.json"; }
mpi 2 run "$phold" "${small[@]}" --sync optimistic --threads 1 -q -o twoopt \
  --checkpoint-every 60 --checkpoint-keep 5
same_results ref twoopt "2 processes, optimistic, with checkpoints"
for c in twoopt.checkpoints/ckpt-*; do
  out="ropt-$(basename "$c")"
  "$DSIM" resume "$c" --sync sequential -q -o "$out" >/dev/null 2>&1 ||
    fail "resume of $c in one process: exit $?"
  same_results ref "$out" "resume of $c (2 processes, optimistic) in one process"
  [ "$(events "$out")" = "$(events ref)" ] ||
    fail "resume of $c: events_processed $(events "$out"), uninterrupted $(events ref)"
done
"$DSIM" run "$phold" "${small[@]}" --sync sequential -q -o one --checkpoint-every 100 ||
  fail "one process with checkpoints"
mpi 2 resume one.checkpoints --sync optimistic --threads 2 -q -o one-on-two
same_results ref one-on-two "resume of a 1-process checkpoint on 2 processes"

# A rank SIGKILLed under the supervisor: the job dies, and is restarted.
# Seconds long in a release build; shorter under the sanitizers. It looks
# for a rank past its first checkpoint every 20 ms: a short run on a loaded
# machine could end between two looks 100 ms apart.
long=(--end-time "$(awk -v s="${DSIM_TEST_SCALE:-1}" 'BEGIN { print 2000 * s }')")
"$DSIM" run "$phold" "${long[@]}" --sync sequential -q -o pref || fail "phold reference"
limit=$(scaled 300)
timeout -k 5 "$limit" "$DSIM" supervise --max-restarts 3 --restart-delay 0.2 -- \
  "${MPIRUN[@]}" -np 2 "$DSIM" run "$phold" "${long[@]}" --sync conservative --threads 1 -q -o "$tmp/sup" \
  --checkpoint-wall 0.1 >sup.out 2>sup.err </dev/null &
sup=$!
killed=0
looks=$(( $(scaled 20) * 50 ))
for ((i = 0; i < looks && killed == 0; ++i)); do
  sleep 0.02
  # One rank: a process whose command line starts with the program itself
  # and names this test's own output directory (other tests may be running
  # the same program at the same time).
  rank=$(pgrep -f "^$DSIM run $phold .*-o $tmp/sup " | head -n 1)
  if [ -n "$rank" ] && [ -f sup.checkpoints/ckpt-000001/index ]; then
    kill -KILL "$rank"
    killed=1
  fi
done
wait $sup
rc=$?
[ "$killed" -eq 1 ] || fail "no rank to kill was found"
[ "$rc" -eq 0 ] || fail "supervised MPI job: exit $rc: $(tail -n 5 sup.err)"
same_results pref sup "supervised MPI job with a rank killed"
grep -q "restart 1 of 3" sup.err || fail "no restart line: $(cat sup.err)"
grep -q '"restarts": 1' sup/manifest.json 2>/dev/null || fail "manifest does not count the restart"

finish
