#!/usr/bin/env bash
# Checkpoints, restart and the supervisor, as a user meets them (issue #11):
#  - a checkpointed run's results are the uninterrupted run's; `dsim
#    checkpoints` lists what `keep` leaves, each valid;
#  - every checkpoint resumed onto other layouts (engines, threads,
#    partitioners), a restarted run restarted again, and a finished run
#    extended to a later end time: results files bit-identical to the
#    uninterrupted sequential run's;
#  - SIGTERM writes a checkpoint and exits 75; SIGUSR1 writes one and the run
#    goes on; SIGKILL at random moments, then resume: identical results;
#  - the supervisor finishes a run whose child is SIGKILLed twice and counts
#    the restarts in manifest.json; it never retries an input error;
#  - bad checkpoints (truncated, bit-flipped, a missing shard, an empty
#    directory, another model, an end time before the cut) get one message
#    naming the file and exit 2, and a damaged newest checkpoint is passed
#    over for the previous one, saying so; an unwritable checkpoint
#    directory is a warning, and the run finishes.
# Env (set by CTest): DSIM (the program), DSIM_SOURCE_DIR.
set -uo pipefail
: "${DSIM:?}" "${DSIM_SOURCE_DIR:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
phold=$DSIM_SOURCE_DIR/models/phold/phold.toml
mm1=$DSIM_SOURCE_DIR/models/queueing/mm1.toml
small=(--set entities.phold.count=1024 --end-time 300)
# The runs that signals and kills interrupt: seconds long in a release build,
# shorter under the sanitizers (DSIM_TEST_SCALE=0.1), which run slower.
long=(--end-time "$(awk -v s="${DSIM_TEST_SCALE:-1}" 'BEGIN { print 2000 * s }')")
failures=0
fail() {
  echo "checkpoint.sh: FAIL: $*" >&2
  failures=$((failures + 1))
}
# same REF DIR WHAT: the result files of DIR are REF's, byte for byte.
same() {
  local f
  for f in results.csv results.json series.csv; do
    [ -f "$1/$f" ] || continue
    cmp -s "$1/$f" "$2/$f" || fail "$3: $2/$f differs from $1/$f"
  done
  [ -f "$2/results.csv" ] || fail "$3: no results in $2"
}
# expect_error CODE PATTERN WHAT -- COMMAND...: exits CODE with one line
# matching PATTERN on stderr.
expect_error() {
  local code=$1 pattern=$2 what=$3
  shift 4
  "$@" >out.txt 2>err.txt
  local rc=$?
  [ "$rc" -eq "$code" ] || fail "$what: exit $rc, expected $code ($(cat err.txt))"
  grep -q -- "$pattern" err.txt || fail "$what: stderr does not say '$pattern': $(cat err.txt)"
}
# wait_for_checkpoint DIR N: until DIR holds a complete checkpoint numbered
# N or more (or 60 s pass).
wait_for_checkpoint() {
  local i
  for ((i = 0; i < 1200; ++i)); do
    ls "$1"/ckpt-*/index 2>/dev/null | sed 's/.*ckpt-0*\([0-9]*\)\/index/\1/' |
      awk -v n="$2" '$1 >= n { found = 1 } END { exit !found }' && return
    sleep 0.05
  done
}
# wait_for_threads PID: until dsim's signal watcher runs (signals before it
# would take their default action).
wait_for_threads() {
  local i
  for ((i = 0; i < 600; ++i)); do
    [ "$(ls "/proc/$1/task" 2>/dev/null | wc -l)" -ge 2 ] && return
    sleep 0.05
  done
}

echo "--- checkpointed runs give the uninterrupted results"
"$DSIM" run "$phold" "${small[@]}" --sync sequential -q -o ref || fail "reference run"
"$DSIM" run "$phold" "${small[@]}" --threads 2 --sync conservative -q -o a \
  --checkpoint-every 40 --checkpoint-keep 3 || fail "checkpointed run"
same ref a "checkpointed conservative run"
n=$(ls a.checkpoints | wc -l)
[ "$n" -eq 3 ] || fail "keep = 3 left $n checkpoints"
"$DSIM" checkpoints a.checkpoints >list.txt || fail "dsim checkpoints"
[ "$(grep -c ' valid$' list.txt)" -eq 3 ] || fail "dsim checkpoints: $(cat list.txt)"
grep -q "1 ranks x 2 threads, conservative, block" list.txt || fail "listing shows no layout"
grep -q '"checkpoints_written": [1-9]' a/manifest.json || fail "manifest counts no checkpoints"

echo "--- every checkpoint resumed onto other layouts"
for ckpt in a.checkpoints/ckpt-*; do
  for layout in "sequential 1 block" "conservative 3 round_robin" "optimistic 2 block" \
    "optimistic 3 graph" "conservative 2 graph"; do
    set -- $layout
    out="r-$(basename "$ckpt")-$1-$2-$3"
    "$DSIM" resume "$ckpt" --sync "$1" --threads "$2" --partitioner "$3" -q -o "$out" ||
      fail "resume $ckpt on $layout"
    same ref "$out" "resume of $ckpt on $layout"
  done
done

echo "--- a restarted run restarted again"
first=$(ls -d a.checkpoints/ckpt-* | head -n 1)
"$DSIM" resume "$first" --threads 2 -q -o b --checkpoint-every 25 || fail "resume with checkpoints"
same ref b "resumed run that checkpoints"
"$DSIM" resume b.checkpoints --sync optimistic --threads 3 -q -o c || fail "resume of a resume"
same ref c "restart of a restarted run"
grep -q '"resumed_from": "b.checkpoints/ckpt-' c/manifest.json || fail "manifest: resumed_from"

echo "--- a finished run extended to a later end time"
"$DSIM" run "$mm1" -q -o mref --end-time 300000 --set output.sample_interval=1000 || fail "mm1 ref"
"$DSIM" run "$mm1" -q -o mhalf --end-time 150000 --set output.sample_interval=1000 \
  --checkpoint-every 40000 || fail "mm1 half"
"$DSIM" resume mhalf.checkpoints --end-time 300000 --threads 2 -q -o mext || fail "extend"
same mref mext "extended run"
# With long delays (mean 20), many events in flight at the last checkpoint
# were sent for after the first run's end: the checkpoint holds them too.
slow=(--set entities.phold.count=1024 --set entities.phold.params.mean=20)
"$DSIM" run "$phold" -q -o xref "${slow[@]}" --end-time 90 || fail "slow phold ref"
"$DSIM" run "$phold" -q -o xhalf "${slow[@]}" --end-time 30 --checkpoint-every 10 ||
  fail "slow phold half"
"$DSIM" resume xhalf.checkpoints --end-time 90 --sync optimistic --threads 2 -q -o xext ||
  fail "extend with events past the end"
same xref xext "run extended past events sent for after its end"

echo "--- what a resume refuses"
expect_error 2 "is of another model: entities.phold.count is 1024 in the checkpoint and 7 now" \
  "a changed model" -- "$DSIM" resume "$first" --set entities.phold.count=7 -o x
expect_error 2 "the end time (10) must be later" "an end time before the cut" -- \
  "$DSIM" resume "$first" --end-time 10 -o x
expect_error 2 '--checkpoint-wall: not a duration: "5ms"' "a bad --checkpoint-wall" -- \
  "$DSIM" run "$phold" --checkpoint-wall 5ms -o x
mkdir empty
expect_error 2 "holds no checkpoint" "an empty directory" -- "$DSIM" resume empty -o x
expect_error 2 "does not exist" "a missing checkpoint" -- "$DSIM" resume nowhere/ckpt-000001 -o x
[ ! -e x ] || fail "a refused resume left a result directory"

echo "--- damaged checkpoints: named, and passed over for the previous one"
cp -r a.checkpoints damaged
last=$(ls -d damaged/ckpt-* | tail -n 1)
prev=$(ls -d damaged/ckpt-* | tail -n 2 | head -n 1)
cp -r "$last" truncated && truncate -s 100 truncated/shard-0-of-1
expect_error 2 "truncated/shard-0-of-1" "a truncated shard" -- "$DSIM" resume truncated -o x
cp -r "$last" flipped
printf '\xff' | dd of=flipped/index bs=1 seek=60 conv=notrunc status=none
expect_error 2 "flipped/index" "a bit-flipped index" -- "$DSIM" resume flipped -o x
cp -r "$last" missing && rm missing/shard-0-of-1
expect_error 2 "shard-0-of-1', named by its index, is missing" "a missing shard" -- "$DSIM" resume missing -o x
truncate -s 200 "$last/shard-0-of-1"
"$DSIM" resume damaged -q -o fallback 2>err.txt || fail "resume past a damaged checkpoint"
grep -q "passed over checkpoint $last" err.txt || fail "no word of the passed-over checkpoint"
same ref fallback "resume from the previous checkpoint"
"$DSIM" checkpoints damaged >list.txt
grep -q "$(basename "$last").*INVALID" list.txt || fail "listing: damaged not INVALID: $(cat list.txt)"
grep -q "$(basename "$prev").* valid$" list.txt || fail "listing: previous not valid"

echo "--- a checkpoint that cannot be written: a warning, and the run finishes"
touch blocker
"$DSIM" run "$phold" "${small[@]}" -q -o w --checkpoint-every 100 --checkpoint-dir blocker/ck \
  2>err.txt || fail "run with an unwritable checkpoint directory"
grep -q "warning: checkpoint ckpt-000001 at simulated time .* was not written" err.txt ||
  fail "no warning for an unwritable checkpoint: $(cat err.txt)"
same ref w "run whose checkpoints failed"

echo "--- signals"
# A run that would take days: SIGUSR1 writes a checkpoint and it goes on;
# SIGTERM writes another and it stops with 75. Each resumes to a later end
# time with the results of a run to that end time.
"$DSIM" run "$phold" --end-time 1e9 --sync sequential -q -o sig 2>err.txt &
pid=$!
wait_for_threads $pid
sleep 0.2
kill -USR1 $pid
wait_for_checkpoint sig.checkpoints 1
kill -0 $pid 2>/dev/null || fail "SIGUSR1 ended the run"
kill -TERM $pid
wait $pid
rc=$?
[ "$rc" -eq 75 ] || fail "SIGTERM: exit $rc, expected 75 ($(cat err.txt))"
grep -q "continue with: dsim resume sig.checkpoints" err.txt || fail "SIGTERM: $(cat err.txt)"
[ ! -e sig ] || fail "SIGTERM left a result directory"
"$DSIM" checkpoints sig.checkpoints >list.txt
for n in 1 2; do
  cut=$(awk -v c="ckpt-00000$n" '$1 == c { print $2 }' list.txt)
  [ -n "$cut" ] || { fail "no checkpoint $n after SIGUSR1 and SIGTERM: $(cat list.txt)"; continue; }
  later=$(awk -v t="$cut" 'BEGIN { printf "%.6f", t + 20 }')
  "$DSIM" run "$phold" --end-time "$later" --sync sequential -q -o "sig-ref-$n" ||
    fail "reference to $later"
  "$DSIM" resume "sig.checkpoints/ckpt-00000$n" --end-time "$later" --threads 2 -q \
    -o "sig-r-$n" || fail "resume after signal $n"
  same "sig-ref-$n" "sig-r-$n" "resume of the checkpoint signal $n wrote"
done

echo "--- SIGKILL at random moments, then resume"
for delay in 0.2 0.5 0.9 1.4; do
  rm -rf k k.checkpoints
  "$DSIM" run "$phold" "${long[@]}" --sync conservative --threads 2 -q -o k --checkpoint-wall 0.05 \
    2>/dev/null &
  pid=$!
  sleep "$delay"
  kill -KILL $pid 2>/dev/null
  wait $pid 2>/dev/null
  if [ -e k/results.csv ]; then
    same pref k "run that finished before SIGKILL at $delay s"
    continue
  fi
  if ! "$DSIM" checkpoints k.checkpoints 2>/dev/null | grep -q ' valid$'; then
    echo "(SIGKILL at $delay s came before the first checkpoint)"
    continue
  fi
  "$DSIM" resume k.checkpoints --threads 2 -q -o kr || fail "resume after SIGKILL at $delay s"
  same pref kr "resume after SIGKILL at $delay s"
  rm -rf kr
done

echo "--- the supervisor"
rm -rf s s.checkpoints
"$DSIM" run "$phold" "${long[@]}" --sync sequential -o s --checkpoint-wall 0.05 --supervise \
  --max-restarts 3 --restart-delay 0.1 -q 2>sup.txt &
sup=$!
# Each child is killed once it wrote a checkpoint (the second after resuming).
seen=0
for kill_no in 1 2; do
  wait_for_checkpoint s.checkpoints $((seen + 1))
  child=$(pgrep -P $sup | head -n 1)
  [ -n "$child" ] && kill -KILL "$child"
  seen=$(ls s.checkpoints | sed 's/ckpt-0*//' | sort -n | tail -n 1)
  # The restart's child: the next kill waits for a checkpoint it wrote.
  for ((i = 0; i < 600; ++i)); do
    c=$(pgrep -P $sup | head -n 1)
    [ -n "$c" ] && [ "$c" != "$child" ] && break
    sleep 0.05
  done
done
wait $sup || fail "supervised run: exit $? ($(cat sup.txt))"
same pref s "supervised run killed twice"
[ "$(grep -c 'restart [12] of 3' sup.txt)" -eq 2 ] || fail "supervisor lines: $(cat sup.txt)"
grep -q '"restarts": 2' s/manifest.json || fail "manifest does not count 2 restarts"
expect_error 2 "no entity group named" "an input error under --supervise" -- \
  "$DSIM" run "$phold" --set links.0.from=nope -o x --supervise --restart-delay 0.1
grep -q "restart" err.txt && fail "the supervisor retried an input error"
expect_error 2 "must run 'dsim run" "supervise without dsim run" -- "$DSIM" supervise -- true

if [ "$failures" -gt 0 ]; then
  echo "checkpoint.sh: $failures failure(s)" >&2
  exit 1
fi
echo "checkpoint.sh: ok"
