#!/usr/bin/env bash
# The dsim program as a user meets it: help, version, list, validate, run,
# result files, determinism of the files, exit codes and one-line errors, and
# no progress output unless stderr is a terminal.
# Env (set by CTest): DSIM (the program), DSIM_SOURCE_DIR.
set -uo pipefail
: "${DSIM:?}" "${DSIM_SOURCE_DIR:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mm1=$DSIM_SOURCE_DIR/models/queueing/mm1.toml
phold=$DSIM_SOURCE_DIR/models/phold/phold.toml
failures=0

fail() {
  echo "cli.sh: FAIL: $*" >&2
  failures=$((failures + 1))
}
# run NAME ARGS...: runs dsim with stdout/stderr in $tmp/NAME.{out,err}, sets $rc.
run() {
  local name=$1
  shift
  "$DSIM" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" </dev/null
  rc=$?
}
expect_rc() {  # expect_rc WANT NAME
  [ "$rc" -eq "$1" ] || fail "$2: exit $rc, want $1; stderr: $(head -c 500 "$tmp/$2.err")"
}
# A failure is reported as exactly one line "dsim: ..." on stderr.
expect_one_line_error() {  # expect_one_line_error NAME PATTERN
  local err=$tmp/$1.err
  [ "$(wc -l <"$err")" -eq 1 ] || fail "$1: stderr is not one line: $(cat "$err")"
  grep -q '^dsim: ' "$err" || fail "$1: stderr does not start with 'dsim: ': $(cat "$err")"
  grep -q -- "$2" "$err" || fail "$1: stderr does not mention '$2': $(cat "$err")"
}
has() {  # has NAME PATTERN: stdout of NAME contains PATTERN
  grep -q -- "$2" "$tmp/$1.out" || fail "$1: stdout lacks '$2'"
}

echo "--- version and help"
run version --version
expect_rc 0 version
grep -Eq '^dsim [0-9]+\.[0-9]+\.[0-9]+' "$tmp/version.out" || fail "--version: $(cat "$tmp/version.out")"
run help --help
expect_rc 0 help
for word in run validate list; do has help "$word"; done
for cmd in run validate list; do
  run "help_$cmd" "$cmd" --help
  expect_rc 0 "help_$cmd"
done
for opt in --out --set --plugin --threads --sync --partitioner --seed --end-time --quiet \
  --check-rollback; do
  has help_run "$opt"
done

echo "--- list"
run list list
expect_rc 0 list
has list '^phold$'
has list '^queue$'
run list_phold list phold
expect_rc 0 list_phold
for param in start_events remote lookahead mean; do has list_phold "$param"; done
has list_phold "real"
run list_queue list queue
expect_rc 0 list_queue
for param in servers capacity service; do has list_queue "$param"; done
has list_queue "distribution"
grep -q '^source$' "$tmp/list_queue.out" && fail "list queue also lists source"
run list_bad list no_such_type
expect_rc 2 list_bad
expect_one_line_error list_bad no_such_type

echo "--- validate"
run validate validate "$mm1"
expect_rc 0 validate
for word in arrivals queue sink source; do has validate "$word"; done
has validate 'entities *3'
run validate_set validate "$phold" --set 'entities.phold.count=100'
expect_rc 0 validate_set
has validate_set 'entities *100$'

echo "--- run"
short=(--set simulation.end_time=1000 --set output.sample_interval=100)
run run_a run "$mm1" "${short[@]}" --out "$tmp/a"
expect_rc 0 run_a
for f in manifest.json results.csv results.json series.csv; do
  [ -s "$tmp/a/$f" ] || fail "run did not write $f"
done
has run_a "results written to $tmp/a"
has run_a 'queue'
[ "$(head -n 1 "$tmp/a/results.csv")" = "group,stat,kind,field,value" ] || fail "results.csv header"
[ "$(head -n 1 "$tmp/a/series.csv")" = "group,stat,time,value" ] || fail "series.csv header"
grep -q '"dsim_version"' "$tmp/a/manifest.json" || fail "manifest.json has no dsim_version"
grep -q '"config"' "$tmp/a/manifest.json" || fail "manifest.json has no config"
# stderr is not a terminal here: nothing on it, progress least of all.
[ -s "$tmp/run_a.err" ] && fail "run wrote to a non-terminal stderr: $(cat -A "$tmp/run_a.err" | head -c 300)"
ls -d "$tmp"/a.tmp-* >/dev/null 2>&1 && fail "temporary result directory left behind"

echo "--- determinism of the result files"
run run_b run "$mm1" "${short[@]}" --out "$tmp/b" --quiet
expect_rc 0 run_b
# Quiet means quiet: not even where the results went.
[ -s "$tmp/run_b.out" ] && fail "--quiet printed: $(head -c 300 "$tmp/run_b.out")"
[ -s "$tmp/run_b.err" ] && fail "--quiet printed on stderr: $(head -c 300 "$tmp/run_b.err")"
for f in results.csv results.json series.csv; do
  cmp -s "$tmp/a/$f" "$tmp/b/$f" || fail "$f differs between two identical runs"
done
run run_a2 run "$mm1" "${short[@]}" --out "$tmp/a" --quiet  # replaces the earlier result
expect_rc 0 run_a2
cmp -s "$tmp/a/results.csv" "$tmp/b/results.csv" || fail "results.csv differs after replacing"
run run_seed run "$mm1" "${short[@]}" --set simulation.seed=2 --out "$tmp/seed2" --quiet
expect_rc 0 run_seed
cmp -s "$tmp/a/results.csv" "$tmp/seed2/results.csv" && fail "another seed gave the same results.csv"
run run_seed_flag run "$mm1" "${short[@]}" --seed 2 --out "$tmp/seed2flag" --quiet
expect_rc 0 run_seed_flag
cmp -s "$tmp/seed2/results.csv" "$tmp/seed2flag/results.csv" || fail "--seed 2 != --set simulation.seed=2"
# Every seed from 0 to 2^64-1: above 2^63-1, --set takes the digits too.
max_seed=18446744073709551615
run run_seed_max run "$mm1" "${short[@]}" --seed "$max_seed" --out "$tmp/seedmax" --quiet
expect_rc 0 run_seed_max
grep -q "\"seed\": $max_seed," "$tmp/seedmax/manifest.json" || fail "--seed $max_seed: manifest seed is not $max_seed"
run run_seed_max_set run "$mm1" "${short[@]}" --set "simulation.seed=$max_seed" --out "$tmp/seedmaxset" --quiet
expect_rc 0 run_seed_max_set
cmp -s "$tmp/seedmax/results.csv" "$tmp/seedmaxset/results.csv" || fail "--seed $max_seed != --set simulation.seed=$max_seed"
cmp -s "$tmp/a/results.csv" "$tmp/seedmax/results.csv" && fail "seed $max_seed gave the results of seed 1"
# The same model on one thread and on two, conservatively synchronized.
run phold1 run "$phold" --end-time 20 --threads 1 --out "$tmp/p1" --quiet
expect_rc 0 phold1
run phold2 run "$phold" --end-time 20 --threads 2 --sync conservative --out "$tmp/p2" --quiet
expect_rc 0 phold2
cmp -s "$tmp/p1/results.csv" "$tmp/p2/results.csv" || fail "phold: 1 and 2 threads differ"
grep -q '"threads": 2' "$tmp/p2/manifest.json" || fail "manifest does not record 2 threads"

echo "--- optimistic"
run validate_opt validate "$phold" --set simulation.sync=optimistic --set simulation.threads=2
if [ "$rc" -ne 0 ] && grep -q 'not available in this build' "$tmp/validate_opt.err"; then
  echo "(optimistic engine not in this build: optimistic checks skipped)"
else
  expect_rc 0 validate_opt
  has validate_opt '^plan *sync=optimistic'
  has validate_opt '^optimistic *memory_limit=[0-9.]* [KMGT]*i*B'
  has validate_opt 'state_saving=every_event'
  has validate_opt '^valid: '
  run validate_opt_keys validate "$phold" --set simulation.sync=optimistic \
    --set simulation.threads=2 --set simulation.memory_limit=2GiB \
    --set simulation.state_saving=periodic --set simulation.state_saving_period=4
  expect_rc 0 validate_opt_keys
  has validate_opt_keys 'memory_limit=2 GiB state_saving=periodic (every 4 events'
  # Sequential plans say nothing about optimistic settings.
  grep -q '^optimistic' "$tmp/validate.out" && fail "validate printed optimistic settings for mm1"

  run phold_opt run "$phold" --end-time 20 --threads 2 --sync optimistic --out "$tmp/po"
  expect_rc 0 phold_opt
  cmp -s "$tmp/p1/results.csv" "$tmp/po/results.csv" || fail "phold: optimistic differs from sequential"
  has phold_opt '^optimistic: .* rolled back (.*%), efficiency .*%, .* GVT rounds'
  for key in events_executed events_rolled_back rollbacks_primary rollbacks_secondary efficiency \
    gvt_rounds peak_saved_bytes memory_limit throttled_rounds state_saving rollback_checks \
    rolled_back; do
    grep -q "\"$key\":" "$tmp/po/manifest.json" || fail "manifest.json of an optimistic run lacks $key"
  done
  grep -q '"sync": "optimistic"' "$tmp/po/manifest.json" || fail "manifest does not record optimistic"

  run phold_check run "$phold" --end-time 20 --check-rollback --out "$tmp/pc"
  expect_rc 0 phold_check
  has phold_check '^rollback check: [1-9][0-9]* events executed twice and compared, all equal$'
  cmp -s "$tmp/p1/results.csv" "$tmp/pc/results.csv" || fail "phold: --check-rollback changed the results"
fi

echo "--- errors"
run missing run "$tmp/no_such.toml" --out "$tmp/x"
expect_rc 2 missing
expect_one_line_error missing no_such.toml
run bad_key run "$mm1" --set simulation.no_such_key=1 --out "$tmp/x"
expect_rc 2 bad_key
expect_one_line_error bad_key no_such_key
printf '[simulation\nend_time = 1\n' >"$tmp/broken.toml"
run broken validate "$tmp/broken.toml"
expect_rc 2 broken
expect_one_line_error broken broken.toml
run bad_type run "$mm1" --set entities.queue.type=no_such_type --out "$tmp/x"
expect_rc 2 bad_type
expect_one_line_error bad_type no_such_type
run bad_plugin run "$mm1" --plugin "$tmp/no_such_plugin.so" --out "$tmp/x"
expect_rc 2 bad_plugin
expect_one_line_error bad_plugin no_such_plugin.so
[ -e "$tmp/x" ] && fail "a failed run left $tmp/x"
mkdir "$tmp/mine" && echo precious >"$tmp/mine/notes.txt"
run foreign run "$mm1" "${short[@]}" --out "$tmp/mine"
expect_rc 2 foreign
expect_one_line_error foreign mine
[ "$(cat "$tmp/mine/notes.txt")" = precious ] || fail "--out clobbered a foreign directory"
run unknown frobnicate
[ "$rc" -ne 0 ] || fail "unknown subcommand exited 0"
expect_one_line_error unknown frobnicate
run no_command
[ "$rc" -ne 0 ] || fail "no subcommand exited 0"
run bad_flag run "$mm1" --no-such-flag
[ "$rc" -eq 2 ] || fail "unknown flag: exit $rc, want 2"
run bad_threads run "$mm1" --threads many
[ "$rc" -eq 2 ] || fail "--threads many: exit $rc, want 2"
run bad_saving run "$mm1" --set simulation.state_saving=sometimes --out "$tmp/x"
expect_rc 2 bad_saving
expect_one_line_error bad_saving "simulation.state_saving: unknown state saving mode 'sometimes'"
run bad_period validate "$mm1" --set simulation.state_saving_period=0
expect_rc 2 bad_period
expect_one_line_error bad_period 'simulation.state_saving_period: must be >= 1 (got 0)'
[ -e "$tmp/x" ] && fail "a failed run left $tmp/x"
# A seed is shown as typed; 2^64 and negatives are refused.
for seed in -1 18446744073709551616 1e3 0x10 ''; do
  run bad_seed run "$mm1" --seed "$seed" --out "$tmp/x"
  expect_rc 2 bad_seed
  expect_one_line_error bad_seed "--seed: expected an integer from 0 to 18446744073709551615, got '$seed'"
done
run bad_seed_eq run "$mm1" --seed=-1 --out "$tmp/x"
expect_rc 2 bad_seed_eq
expect_one_line_error bad_seed_eq "got '-1'"
run bad_seed_set run "$mm1" --set simulation.seed=-1 --out "$tmp/x"
expect_rc 2 bad_seed_set
expect_one_line_error bad_seed_set 'simulation.seed: must be >= 0 (got -1)'
# An empty --out is a mistake, not "use the default" (mm1's: results/mm1).
mkdir "$tmp/cwd"
for out in "--out=" "--out ''"; do
  (cd "$tmp/cwd" && eval "'$DSIM' run '$mm1' --set simulation.end_time=1000 $out" \
    >"$tmp/empty_out.out" 2>"$tmp/empty_out.err" </dev/null)
  rc=$?
  expect_rc 2 empty_out
  expect_one_line_error empty_out '--out'
done
expect_one_line_error empty_out '--out: the output directory must not be empty'
[ -z "$(ls -A "$tmp/cwd")" ] || fail "an empty --out wrote into the current directory: $(ls -A "$tmp/cwd")"
# A block's bad parameter names the group and type once.
run bad_block_param run "$mm1" --set entities.queue.params.servers=0 --out "$tmp/x"
expect_rc 2 bad_block_param
expect_one_line_error bad_block_param "entities 'queue' (type 'queue'): parameter 'servers' = 0 must be between 1 and 64"
[ "$(grep -o "(type" "$tmp/bad_block_param.err" | wc -l)" -eq 1 ] ||
  fail "bad block parameter: the prefix repeats: $(cat "$tmp/bad_block_param.err")"
# An output directory that cannot be created is refused before the run (one
# far too long to finish: refused after it, it would time out), naming the
# path given. /proc and /sys pass permission checks for root, yet refuse new
# directories.
long_run() {  # long_run NAME ARGS...: like run, for a run that must not start
  local name=$1
  shift
  timeout 120 "$DSIM" run "$mm1" --set simulation.end_time=1e12 "$@" \
    >"$tmp/$name.out" 2>"$tmp/$name.err" </dev/null
  rc=$?
}
for dir in /proc/dsim_out /sys/dsim_out/deeper; do
  if mkdir "${dir%/deeper}" 2>/dev/null; then
    rmdir "${dir%/deeper}"
    echo "(skipped: $dir can be created here)"
    continue
  fi
  long_run unwritable --out "$dir"
  expect_rc 2 unwritable
  expect_one_line_error unwritable "cannot create output directory '$dir'"
  grep -q '\.tmp-' "$tmp/unwritable.err" && fail "$dir: the message names a temporary path"
done
# Too long a path: bad input, and the message cuts it.
long_name=$(printf 'n%.0s' $(seq 5000))
long_run long_out --out "$tmp/$long_name"
expect_rc 2 long_out
expect_one_line_error long_out "the name 'nnnn.*(5000 characters)' is too long (5000 bytes"
[ "$(wc -c <"$tmp/long_out.err")" -lt 600 ] || fail "long --out: the message is $(wc -c <"$tmp/long_out.err") bytes"
deep=$tmp
while [ "${#deep}" -le 4096 ]; do deep=$deep/$(printf 'd%.0s' $(seq 200)); done
long_run deep_out --out "$deep"
expect_rc 2 deep_out
expect_one_line_error deep_out "the path is too long ([0-9]* bytes as an absolute path"
[ "$(wc -c <"$tmp/deep_out.err")" -lt 600 ] || fail "deep --out: the message is $(wc -c <"$tmp/deep_out.err") bytes"
# A huge value is quoted cut short, saying how long it was. (One argument
# may hold at most 128 KiB.)
huge=$(head -c 100000 /dev/zero | tr '\0' z)
for set in "simulation.seed=$huge" "simulation.sync=$huge" "simulation.$huge=1" \
  "entities.queue.params.servers=$huge" "entities.queue.params.service=$huge"; do
  run huge_value validate "$mm1" --set "$set"
  expect_rc 2 huge_value
  expect_one_line_error huge_value '[0-9] characters)'
  [ "$(wc -c <"$tmp/huge_value.err")" -lt 1000 ] ||
    fail "--set ${set:0:30}...: the message is $(wc -c <"$tmp/huge_value.err") bytes: $(head -c 300 "$tmp/huge_value.err")"
done
run huge_command "z$huge"
[ "$rc" -eq 2 ] || fail "a huge unknown command: exit $rc, want 2"
[ "$(wc -c <"$tmp/huge_command.err")" -lt 1000 ] || fail "a huge unknown command: a $(wc -c <"$tmp/huge_command.err")-byte message"
run huge_flag run "$mm1" --threads "$huge"
[ "$rc" -eq 2 ] || fail "--threads HUGE: exit $rc, want 2"
[ "$(wc -l <"$tmp/huge_flag.err")" -eq 1 ] && [ "$(wc -c <"$tmp/huge_flag.err")" -lt 2100 ] ||
  fail "--threads HUGE: the message is $(wc -c <"$tmp/huge_flag.err") bytes"

echo "--- terminal"
# script(1) gives dsim a terminal. A run too short for a progress update must
# still end with a clean line; --quiet never draws.
if command -v script >/dev/null; then
  script -qec "'$DSIM' run '$mm1' --set simulation.end_time=1000 --out '$tmp/tty' --quiet" \
    /dev/null >"$tmp/tty_quiet.out" 2>&1 </dev/null || fail "run under a terminal failed"
  grep -q 'ETA' "$tmp/tty_quiet.out" && fail "--quiet drew progress on a terminal"
  script -qec "'$DSIM' run '$mm1' --set simulation.end_time=1000 --out '$tmp/tty'" \
    /dev/null >"$tmp/tty.out" 2>&1 </dev/null || fail "run under a terminal failed"
  grep -q 'results written to' "$tmp/tty.out" || fail "no summary under a terminal"
  cmp -s "$tmp/a/results.csv" "$tmp/tty/results.csv" || fail "results differ under a terminal"
else
  echo "(script(1) not found: terminal checks skipped)"
fi

if [ "$failures" -ne 0 ]; then
  echo "cli.sh: $failures failure(s)" >&2
  exit 1
fi
echo "cli.sh: ok"
