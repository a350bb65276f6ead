#!/usr/bin/env bash
# dsim experiment as a user meets it (issue #13):
#  - the example experiment file runs; its summary's intervals contain
#    Erlang C's mean wait at each number of servers;
#  - the result files are the same bit for bit with 1 and 2 workers, after a
#    SIGKILL and --resume, and after Ctrl-C (exit 130) and --resume;
#    manifest.json too, but for its timing (under mpirun: mpi_experiment.sh);
#  - --ask-tell answers JSON lines with the summaries a batch gives;
#  - bad input (an unknown factor key, an empty range, a precision statistic
#    no group records, an unknown key in an experiment file, --retry-failed
#    without --resume, a journal there without --resume) gets one line
#    naming it, exit 2, and no run; a result file that cannot be written (a
#    full disk) is an error that leaves no half-written file.
# Env (set by CTest): DSIM, DSIM_SOURCE_DIR.
set -uo pipefail
: "${DSIM:?}" "${DSIM_SOURCE_DIR:?}"
tmp=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done; rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
py=/usr/bin/python3
mm1=$DSIM_SOURCE_DIR/models/queueing/mm1.toml
mmc=$DSIM_SOURCE_DIR/models/queueing/mmc.toml
example=$DSIM_SOURCE_DIR/examples/experiments/mmc_servers.toml
scale=${DSIM_TEST_SCALE:-1}
failures=0
fail() {
  echo "experiment.sh: FAIL: $*" >&2
  failures=$((failures + 1))
}
source "$(dirname "${BASH_SOURCE[0]}")/lib/experiment.bash"
# bad NAME EXPECTED ARGS...: exit 2, one line on stderr holding EXPECTED, no output.
bad() {
  local name=$1 expected=$2
  shift 2
  "$DSIM" experiment "$@" --out "$tmp/bad-$name" >"$tmp/bad.out" 2>"$tmp/bad.err"
  local rc=$?
  [ "$rc" -eq 2 ] || fail "$name: exit $rc, want 2: $(cat "$tmp/bad.err")"
  grep -qF -- "$expected" "$tmp/bad.err" || fail "$name: stderr does not name '$expected': $(cat "$tmp/bad.err")"
  [ "$(wc -l <"$tmp/bad.err")" -eq 1 ] || fail "$name: not one line: $(cat "$tmp/bad.err")"
  [ ! -e "$tmp/bad-$name/runs.csv" ] || fail "$name: results were written"
}

echo "--- the example: Erlang C inside every interval"
"$DSIM" experiment "$example" --out ex -q || fail "example: exit $?"
"$py" - ex/summary.csv <<'PYEOF' || fail "example: $(cat ex/summary.csv | head -3)"
import csv, math, sys
rows = [r for r in csv.DictReader(open(sys.argv[1]))
        if (r["group"], r["stat"], r["field"]) == ("queue", "wait", "mean")]
assert len(rows) == 4, rows
for r in rows:
    c = int(r["entities.queue.params.servers"])
    a = 2.1
    s = sum(a**k / math.factorial(k) for k in range(c))
    last = a**c / math.factorial(c) / (1 - a / c)
    wq = last / (s + last) / (c - a)
    lo, hi, mean, half = (float(r[k]) for k in ("ci_low", "ci_high", "mean", "half_width"))
    assert lo <= wq <= hi, (c, wq, lo, hi)
    assert half <= 0.05 * mean + 1e-12, (c, half, mean)
    print(f"{c} servers: Erlang C {wq:.5f} in [{lo:.5f}, {hi:.5f}], n = {r['n']}")
PYEOF

echo "--- 1 and 2 workers"
sweep=("$mm1" --set simulation.end_time=1000 --vary "entities.queue.params.service=exp(mean=1),exp(mean=0.8)"
  --precision queue.wait.mean=0.1 --max-replications 80)
"$DSIM" experiment "${sweep[@]}" --workers 1 --out w1 -q || fail "1 worker: exit $?"
"$DSIM" experiment "${sweep[@]}" --workers 2 --out w2 -q || fail "2 workers: exit $?"
same_experiment w1 w2 "2 workers"
"$DSIM" experiment "${sweep[@]}" --workers 2 --out w1 -q 2>"$tmp/again.err"
[ $? -eq 2 ] && grep -q -- "--resume" "$tmp/again.err" || fail "a journal there without --resume: $(cat "$tmp/again.err")"

echo "--- SIGKILL, then --resume"
many=("$mm1" --set "simulation.end_time=$("$py" -c "print(max(200, int(3000 * $scale)))")" --replications 300
  --vary entities.queue.params.servers=1,2)
"$DSIM" experiment "${many[@]}" --workers 2 --out whole -q || fail "uninterrupted: exit $?"
for attempt in 1 2; do
  rm -rf killed
  "$DSIM" experiment "${many[@]}" --workers 2 --out killed -q &
  pid=$!
  pids+=("$pid")
  # Kill it once some runs are in the journal, at a moment that varies.
  for _ in $(seq 1 400); do
    [ "$(wc -l 2>/dev/null <killed/runs.journal || echo 0)" -ge $((20 * attempt)) ] && break
    sleep 0.01
  done
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  [ ! -e killed/runs.csv ] || fail "killed $attempt: results written before the end"
  lines=$(wc -l <killed/runs.journal)
  "$DSIM" experiment "${many[@]}" --workers 2 --out killed --resume -q || fail "resume $attempt: exit $?"
  same_experiment whole killed "SIGKILL after $lines journal lines, then --resume"
done

echo "--- Ctrl-C: exit 130, then --resume"
rm -rf int
"$DSIM" experiment "${many[@]}" --workers 2 --out int -q 2>"$tmp/int.err" &
pid=$!
pids+=("$pid")
for _ in $(seq 1 400); do
  [ "$(wc -l 2>/dev/null <int/runs.journal || echo 0)" -ge 30 ] && break
  sleep 0.01
done
kill -INT "$pid"
wait "$pid"
rc=$?
if [ "$rc" -eq 0 ]; then
  echo "(it finished before the signal)"
else
  [ "$rc" -eq 130 ] || fail "Ctrl-C: exit $rc, want 130: $(cat "$tmp/int.err")"
  grep -q -- "--resume" "$tmp/int.err" || fail "Ctrl-C: no word of --resume: $(cat "$tmp/int.err")"
  [ ! -e int/runs.csv ] || fail "Ctrl-C: results written"
  "$DSIM" experiment "${many[@]}" --workers 2 --out int --resume -q || fail "resume after Ctrl-C: exit $?"
fi
same_experiment whole int "Ctrl-C, then --resume"

echo "--- --ask-tell"
printf '%s\n' '{"factors": {"entities.queue.params.service": "exp(mean=0.8)"}, "id": 7}' \
  'no json' '{"entities.queue.params.nosuch": 1}' |
  "$DSIM" experiment "$mm1" --set simulation.end_time=1000 --precision queue.wait.mean=0.1 \
    --max-replications 80 --workers 2 --ask-tell --out asks >"$tmp/asks.txt" 2>"$tmp/asks.err" ||
  fail "ask-tell: exit $?: $(cat "$tmp/asks.err")"
"$py" - "$tmp/asks.txt" w1/summary.json <<'PYEOF' || fail "ask-tell: $(head -c 1500 "$tmp/asks.txt")"
import json, sys
answers = [json.loads(l) for l in open(sys.argv[1])]
assert len(answers) == 3, answers
a = answers[0]
assert a["id"] == 7 and a["ask"] == 0 and a["stopped"] == "precision", a
# The same point in the batch sweep (its second point): the same numbers.
batch = json.load(open(sys.argv[2]))["points"][1]
want = {(s["group"], s["stat"], s["field"]): s for s in batch["stats"]}
got = {(s["group"], s["stat"], s["field"]): s for s in a["stats"]}
assert got == want, "summaries differ"
assert a["means"]["queue.wait.mean"] == want[("queue", "wait", "mean")]["mean"]
assert "error" in answers[1] and answers[1]["ask"] == 1
assert "nosuch" in answers[2]["error"], answers[2]
PYEOF

echo "--- bad input"
bad factor "servrs" "$mm1" --vary entities.queue.params.servrs=1,2
bad range "empty range" "$mm1" --vary entities.queue.params.servers=3:1:1
bad stat "wiat" "$mm1" --precision queue.wiat.mean=0.1
bad group "no group 'quue'" "$mm1" --precision quue.wait.mean=0.1
bad both "give one" "$mm1" --precision queue.wait.mean=0.1 --replications 3
bad retry "--retry-failed" "$mm1" --retry-failed
bad workers "more than 1024" "$mm1" --workers 100000
printf '[experiment]\nmodel = "%s"\nreplicatons = 4\n' "$mm1" >typo.toml
bad file-key "typo.toml:3" typo.toml
bad model "nosuch.toml" "$DSIM_SOURCE_DIR/models/queueing/nosuch.toml"

echo "--- a full disk while writing the results"
mkdir -p full
ln -s /dev/full full/runs.csv.tmp
"$DSIM" experiment "$mm1" --set simulation.end_time=200 --replications 3 --out full -q 2>"$tmp/full.err"
rc=$?
[ "$rc" -eq 1 ] || fail "full disk: exit $rc, want 1: $(cat "$tmp/full.err")"
grep -q "runs.csv" "$tmp/full.err" || fail "full disk: the message does not name runs.csv: $(cat "$tmp/full.err")"
[ ! -e full/runs.csv ] && [ ! -e full/manifest.json ] || fail "full disk: a result file was left"
# Full on the third file: the two before it must not stay behind either.
mkdir -p full3
ln -s /dev/full full3/runs.json.tmp
"$DSIM" experiment "$mm1" --set simulation.end_time=200 --replications 3 --out full3 -q 2>"$tmp/full3.err"
rc=$?
[ "$rc" -eq 1 ] && grep -q "runs.json" "$tmp/full3.err" || fail "full disk at runs.json: exit $rc: $(cat "$tmp/full3.err")"
ls full3 | grep -qE '^(runs\.csv|summary\.csv|manifest\.json)' && fail "full disk at runs.json: left $(ls full3)"

[ "$failures" -eq 0 ] && echo "experiment.sh: ok"
exit $((failures > 0))
