#!/usr/bin/env bash
# Two Simulations at once in each process under MPI, on different
# communicators (a split of the world and a duplicate of it), in a host
# program that initialised MPI itself: each gives its one-process result.
# Env (set by CTest): DSIM, DSIM_SOURCE_DIR, DSIM_BUILD_DIR, DSIM_WITH_MPI.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/mpi.bash"
program=$DSIM_BUILD_DIR/tests/dsim_mpi_concurrent
[ -x "$program" ] || { echo "skipped: $program was not built"; exit 77; }
for np in 2 4; do
  checks=$((checks + 1))
  echo "--- $np ranks"
  timeout -k 5 $((120 * ${DSIM_TEST_TIMEOUT_FACTOR:-1})) "${MPIRUN[@]}" -np "$np" "$program" \
    "$DSIM_SOURCE_DIR" >"$tmp/out" 2>"$tmp/err" </dev/null
  rc=$?
  cat "$tmp/out"
  [ "$rc" -eq 0 ] || fail "$np ranks: exit $rc: $(head -c 800 "$tmp/err") $(head -c 800 "$tmp/out")"
  grep -q "concurrent_runs: $np ranks, 0 failure(s)" "$tmp/out" || fail "$np ranks: no verdict"
done
finish
