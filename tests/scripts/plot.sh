#!/usr/bin/env bash
# dsim plot and the charts of dsim run: whole charts compared with golden
# files (tests/golden/plot/) at fixed widths, in braille and in ASCII; the
# locale and COLUMNS choosing them; selectors (wildcards, several overlaid);
# bad selectors (exit 2, one line naming it, close matches); results without
# series; and dsim run charting only on a terminal, not with --no-charts.
# The goldens hold charts of result files, which are bit-identical for a
# given config and seed; the partition-load golden is of a hand-written
# manifest (tests/data/plot/histogram), as a real run's timings vary.
# UPDATE_GOLDEN=1 rewrites the goldens instead of comparing (look at them).
# Env (set by CTest): DSIM (the program), DSIM_SOURCE_DIR.
set -uo pipefail
: "${DSIM:?}" "${DSIM_SOURCE_DIR:?}"
# Commands run in a scratch directory: absolute paths.
DSIM=$(realpath "$DSIM")
DSIM_SOURCE_DIR=$(realpath "$DSIM_SOURCE_DIR")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
golden=$DSIM_SOURCE_DIR/tests/golden/plot
failures=0

# columns FILE: the widest line's columns on a terminal (GNU wc counts
# characters under a UTF-8 locale; awk may count bytes).
columns() { tr -d '\r' <"$1" | LC_ALL=C.UTF-8 wc -L; }
fail() {
  echo "plot.sh: FAIL: $*" >&2
  failures=$((failures + 1))
}
# Charts depend on the locale and COLUMNS: every run states them.
unset LC_ALL LC_CTYPE LANG COLUMNS
utf8=(env LANG=C.UTF-8)
# run NAME ARGS...: dsim with stdout/stderr in $tmp/NAME.{out,err}, in $tmp
# (messages name result directories by the relative path given); sets $rc.
run() {
  local name=$1
  shift
  (cd "$tmp" && "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" </dev/null)
  rc=$?
}
expect_rc() {  # expect_rc WANT NAME
  [ "$rc" -eq "$1" ] || fail "$2: exit $rc, want $1; stderr: $(head -c 500 "$tmp/$2.err")"
}
expect_one_line_error() {  # expect_one_line_error NAME PATTERN...
  local err=$tmp/$1.err pattern
  [ "$(wc -l <"$err")" -eq 1 ] || fail "$1: stderr is not one line: $(cat "$err")"
  grep -q '^dsim: ' "$err" || fail "$1: stderr does not start with 'dsim: ': $(cat "$err")"
  shift
  for pattern in "$@"; do
    grep -qF -- "$pattern" "$err" || fail "$(basename "$err"): lacks '$pattern': $(cat "$err")"
  done
}
# golden NAME: stdout of NAME must be tests/golden/plot/NAME.txt.
golden() {
  if [ "${UPDATE_GOLDEN:-0}" = 1 ]; then
    mkdir -p "$golden"
    cp "$tmp/$1.out" "$golden/$1.txt"
    echo "wrote $golden/$1.txt"
  elif ! diff -u "$golden/$1.txt" "$tmp/$1.out" >"$tmp/$1.diff"; then
    fail "$1 differs from tests/golden/plot/$1.txt:"$'\n'"$(head -40 "$tmp/$1.diff")"
  fi
}
same() {  # same A B: runs A and B printed the same
  cmp -s "$tmp/$1.out" "$tmp/$2.out" || fail "$2 differs from $1: $(diff "$tmp/$1.out" "$tmp/$2.out" | head -20)"
}

echo "--- results: epidemic (series), M/M/1 sampled (series of different sizes), histograms"
"$DSIM" run "$DSIM_SOURCE_DIR/models/epidemic/epidemic.toml" --out "$tmp/epi" -q ||
  fail "epidemic run failed"
"$DSIM" run "$DSIM_SOURCE_DIR/models/queueing/mm1.toml" --out "$tmp/mm1" -q \
  --set output.sample_interval=500 --set simulation.end_time=20000 || fail "mm1 run failed"
"$DSIM" run "$DSIM_SOURCE_DIR/models/queueing/mm1.toml" --out "$tmp/mm1_plain" -q \
  --set simulation.end_time=1000 || fail "mm1 (no series) run failed"
cp -r "$DSIM_SOURCE_DIR/tests/data/plot/histogram" "$tmp/hist"

echo "--- goldens at fixed widths"
run epidemic_100 "${utf8[@]}" "$DSIM" plot epi 'people.*' --width 100
expect_rc 0 epidemic_100
golden epidemic_100
run epidemic_60_ascii "$DSIM" plot epi 'people.*' --width 60 --ascii
expect_rc 0 epidemic_60_ascii
golden epidemic_60_ascii
# Two selectors, one a wildcard: overlaid in one chart with a legend.
run overlay_60 "${utf8[@]}" "$DSIM" plot epi people.susceptible 'people.rec*' --width 60 --height 10
expect_rc 0 overlay_60
golden overlay_60
grep -q '^1 people.susceptible   2 people.recovered$' "$tmp/overlay_60.out" ||
  fail "overlay_60: no legend of the two series"
# Counters in the thousands and gauges below 10: separate charts; the tallies
# the wildcard also picked are named as not drawn.
run mm1_80 "${utf8[@]}" "$DSIM" plot mm1 'queue.*' --width 80 --height 10
expect_rc 0 mm1_80
golden mm1_80
grep -q '^not drawn (no series or histogram): queue.wait (tally), queue.sojourn (tally)$' \
  "$tmp/mm1_80.out" || fail "mm1_80: the tallies are not named as not drawn"
# No selector: everything; here no series (said in one line), two
# histograms (one with more bins than columns) and the partition load.
run histogram_60 "${utf8[@]}" "$DSIM" plot hist --width 60
expect_rc 0 histogram_60
golden histogram_60
head -1 "$tmp/histogram_60.out" | grep -q '^hist has no series' ||
  fail "histogram_60: does not start by saying there are no series"
run histogram_100_ascii "$DSIM" plot hist --width 100 --ascii
expect_rc 0 histogram_100_ascii
golden histogram_100_ascii

echo "--- widths: every line fits"
for width in 30 45 60 100 137; do
  run "fit_$width" "${utf8[@]}" "$DSIM" plot epi --width "$width" --height 8
  expect_rc 0 "fit_$width"
  [ "$(columns "$tmp/fit_$width.out")" -le "$width" ] ||
    fail "--width $width: lines longer than $width columns: $(cat "$tmp/fit_$width.out")"
done

echo "--- the locale and COLUMNS"
run loc_c "$DSIM" plot epi 'people.*' --width 60
same epidemic_60_ascii loc_c
run loc_lc_all env LC_ALL=C LANG=C.UTF-8 "$DSIM" plot epi 'people.*' --width 60
same epidemic_60_ascii loc_lc_all
run loc_lc_ctype env LC_CTYPE=POSIX LANG=en_US.UTF-8 "$DSIM" plot epi 'people.*' --width 60
same epidemic_60_ascii loc_lc_ctype
run loc_lang env LANG=en_US.utf8 "$DSIM" plot epi 'people.*' --width 100
same epidemic_100 loc_lang
run loc_lc_all_utf8 env LC_ALL=C.UTF-8 LANG=C "$DSIM" plot epi 'people.*' --width 100
same epidemic_100 loc_lc_all_utf8
run columns env COLUMNS=60 "$DSIM" plot epi 'people.*'
same epidemic_60_ascii columns
run columns_flag env COLUMNS=100 "$DSIM" plot epi 'people.*' --width 60 --ascii
same epidemic_60_ascii columns_flag
run no_columns "$DSIM" plot epi 'people.*'
width=$(columns "$tmp/no_columns.out")
[ "$width" -le 80 ] && [ "$width" -ge 70 ] || fail "not a terminal, no COLUMNS: $width columns, want 80"

echo "--- selectors"
run sel_one "$DSIM" plot epi people.exposed --width 60
expect_rc 0 sel_one
[ "$(head -1 "$tmp/sel_one.out")" = people.exposed ] || fail "sel_one: title $(head -1 "$tmp/sel_one.out")"
grep -q 'people.susceptible' "$tmp/sel_one.out" && fail "sel_one: drew more than people.exposed"
run sel_star "$DSIM" plot epi '*' --width 60
expect_rc 0 sel_star
grep -q 'load per partition' "$tmp/sel_star.out" && fail "'*' drew the partition load"
run sel_parts "$DSIM" plot epi partitions --width 60
expect_rc 0 sel_parts
for word in 'load per partition' '^events$' '^busy seconds' '^blocked seconds' ' p0 |'; do
  grep -q -- "$word" "$tmp/sel_parts.out" || fail "partitions: lacks '$word'"
done
run sel_hist "$DSIM" plot hist 'queue.*' --width 60
expect_rc 0 sel_hist
grep -q '^queue.wait_hist: 2907 values, 7 above 10$' "$tmp/sel_hist.out" ||
  fail "queue.*: no histogram"
grep -q '^not drawn (no series or histogram): queue.arrivals (counter), queue.wait (tally)$' \
  "$tmp/sel_hist.out" || fail "queue.*: does not name what it could not draw"

echo "--- bad selectors and directories: exit 2, one line naming them"
run bad_typo "$DSIM" plot epi 'peple.*'
expect_rc 2 bad_typo
expect_one_line_error bad_typo "'peple.*'" "close matches: people.susceptible"
run bad_part "$DSIM" plot epi people.infect people.exposed
expect_rc 2 bad_part
expect_one_line_error bad_part "'people.infect'" "people.infected, people.infections"
[ -s "$tmp/bad_part.out" ] && fail "bad_part: charts printed before the error"
run bad_far "$DSIM" plot epi zzzz
expect_rc 2 bad_far
expect_one_line_error bad_far "'zzzz' matches no statistic in epi" "it holds people.susceptible"
run bad_tally "$DSIM" plot hist queue.wait
expect_rc 2 bad_tally
expect_one_line_error bad_tally "'queue.wait'" "queue.wait (tally)" "nothing to draw"
run bad_counter "$DSIM" plot mm1_plain 'sink.*'
expect_rc 2 bad_counter
expect_one_line_error bad_counter "sink.count (counter)" "sample_interval"
run bad_dir "$DSIM" plot no_such_dir
expect_rc 2 bad_dir
expect_one_line_error bad_dir "no_such_dir"
mkdir -p "$tmp/not_results"
run bad_manifest "$DSIM" plot not_results
expect_rc 2 bad_manifest
expect_one_line_error bad_manifest "not_results" "manifest.json"
run bad_width "$DSIM" plot epi --width -3
expect_rc 2 bad_width
expect_one_line_error bad_width "--width"

echo "--- results without series"
run plain "$DSIM" plot mm1_plain --width 60
expect_rc 0 plain
[ "$(head -1 "$tmp/plain.out")" = "mm1_plain has no series (the run samples them when [output] sample_interval is set)" ] ||
  fail "plain: first line $(head -1 "$tmp/plain.out")"
grep -q 'load per partition' "$tmp/plain.out" || fail "plain: no partition load after the note"

echo "--- dsim run: charts on a terminal only"
epi=$DSIM_SOURCE_DIR/models/epidemic/epidemic.toml
run run_pipe "${utf8[@]}" "$DSIM" run "$epi" --out run_pipe
expect_rc 0 run_pipe
grep -q 'people: 4 series' "$tmp/run_pipe.out" && fail "dsim run charted into a pipe"
if command -v script >/dev/null; then
  # script(1) gives dsim a terminal; COLUMNS sizes the charts.
  on_tty() {  # on_tty NAME ARGS...
    local name=$1
    shift
    (cd "$tmp" && LANG=C.UTF-8 COLUMNS=70 script -qec "$(printf '%q ' "$@")" /dev/null \
      >"$tmp/$name.out" 2>&1 </dev/null)
    rc=$?
  }
  on_tty run_tty "$DSIM" run "$epi" --out run_tty --no-progress
  expect_rc 0 run_tty
  grep -q 'people: 4 series' "$tmp/run_tty.out" || fail "run_tty: no chart of the series"
  grep -q '⠀\|[⠁-⣿]' "$tmp/run_tty.out" || fail "run_tty: no braille"
  grep -q '^1 people.susceptible' "$tmp/run_tty.out" || fail "run_tty: no legend"
  grep -q 'results written to run_tty' "$tmp/run_tty.out" || fail "run_tty: no last line"
  grep '[┤│└]' "$tmp/run_tty.out" >"$tmp/run_tty.charts"
  [ "$(columns "$tmp/run_tty.charts")" -le 70 ] ||
    fail "run_tty: charts wider than COLUMNS=70: $(cat "$tmp/run_tty.charts")"
  on_tty run_tty_off "$DSIM" run "$epi" --out run_tty_off --no-progress --no-charts
  expect_rc 0 run_tty_off
  grep -q 'people: 4 series' "$tmp/run_tty_off.out" && fail "--no-charts: charted anyway"
  grep -q 'results written to' "$tmp/run_tty_off.out" || fail "--no-charts: no summary"
  on_tty run_tty_quiet "$DSIM" run "$epi" --out run_tty_quiet -q
  [ -s "$tmp/run_tty_quiet.out" ] && fail "-q on a terminal printed: $(head -3 "$tmp/run_tty_quiet.out")"
  on_tty run_tty_plain "$DSIM" run "$DSIM_SOURCE_DIR/models/queueing/mm1.toml" --out mm1_tty \
    --set simulation.end_time=1000 --no-progress
  expect_rc 0 run_tty_plain
  grep -q '[┤│]' "$tmp/run_tty_plain.out" && fail "a run without series drew a chart"
else
  echo "skipped the terminal checks: no script(1) (apt-get install bsdutils)"
fi

if [ "$failures" -gt 0 ]; then
  echo "plot.sh: $failures failure(s)"
  exit 1
fi
echo "plot.sh: all passed"
