#!/usr/bin/env bash
# Ctrl-C during `dsim run`: the run stops at its next quiet point in every
# engine, exits 130 with one line saying so, and leaves no result directory
# (nor a half-written one) behind.
# Env (set by CTest): DSIM (the program), DSIM_SOURCE_DIR.
set -uo pipefail
: "${DSIM:?}" "${DSIM_SOURCE_DIR:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
phold=$DSIM_SOURCE_DIR/models/phold/phold.toml
failures=0
fail() {
  echo "interrupt.sh: FAIL: $*" >&2
  failures=$((failures + 1))
}

for layout in "sequential 1" "conservative 2" "optimistic 2"; do
  set -- $layout
  name="$1_$2"
  echo "--- $name"
  # Hours at full speed: it is running when the signal comes.
  "$DSIM" run "$phold" --sync "$1" --threads "$2" --end-time 1e9 \
    --out "$tmp/$name" >"$tmp/$name.stdout" 2>"$tmp/$name.err" </dev/null &
  pid=$!
  # The handler is in place once dsim's Ctrl-C watcher thread exists (a
  # loaded machine may take a while to get there; a signal before that
  # would be ignored, as in any background job).
  for ((i = 0; i < 600; ++i)); do
    [ "$(ls "/proc/$pid/task" 2>/dev/null | wc -l)" -ge 2 ] && break
    sleep 0.1
  done
  sleep 0.5
  # A run that ignores the signal is killed after two minutes and fails.
  (sleep 120 && kill -9 "$pid") >/dev/null 2>&1 &
  watchdog=$!
  kill -INT "$pid"
  start=$SECONDS
  wait "$pid"
  rc=$?
  pkill -P "$watchdog" sleep 2>/dev/null
  kill "$watchdog" 2>/dev/null
  [ "$rc" -eq 130 ] || fail "$name: exit $rc, want 130; stderr: $(head -c 500 "$tmp/$name.err")"
  [ $((SECONDS - start)) -lt 60 ] || fail "$name: took $((SECONDS - start)) s to stop"
  grep -q '^dsim: interrupted: stopping at the next quiet point' "$tmp/$name.err" ||
    fail "$name: no notice on stderr: $(cat "$tmp/$name.err")"
  grep -q '^dsim: interrupted: the run was stopped at simulated time .* of 1000000000; no results were written$' \
    "$tmp/$name.err" || fail "$name: no final line on stderr: $(cat "$tmp/$name.err")"
  [ "$(wc -l <"$tmp/$name.err")" -eq 2 ] || fail "$name: stderr is not two lines: $(cat "$tmp/$name.err")"
  [ ! -s "$tmp/$name.stdout" ] || fail "$name: printed a result: $(head -c 300 "$tmp/$name.stdout")"
  leftovers=$(find "$tmp" -mindepth 1 -maxdepth 1 -name "$name*" -type d)
  [ -z "$leftovers" ] || fail "$name: left $leftovers"
done

echo "interrupt.sh: $failures failure(s)"
[ "$failures" -eq 0 ]
