#!/usr/bin/env bash
# Progress under MPI is the whole job's: tests/mpi/pooled_progress.cpp under
# mpirun with 2 and 3 ranks (conservative and optimistic, 2 threads each);
# the watchers' updates cover every partition and are, bit for bit, a prefix
# of the finished run's series.
# Env (set by CTest): DSIM, DSIM_SOURCE_DIR, DSIM_BUILD_DIR, DSIM_WITH_MPI.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/mpi.bash"
program=$DSIM_BUILD_DIR/tests/dsim_mpi_progress
[ -x "$program" ] || { echo "skipped: $program was not built"; exit 77; }
for np in 2 3; do
  checks=$((checks + 1))
  echo "--- $np ranks"
  timeout -k 5 $((120 * ${DSIM_TEST_TIMEOUT_FACTOR:-1})) "${MPIRUN[@]}" -np "$np" "$program" \
    "$DSIM_SOURCE_DIR" >"$tmp/out" 2>"$tmp/err" </dev/null
  rc=$?
  cat "$tmp/out"
  [ "$rc" -eq 0 ] || fail "$np ranks: exit $rc: $(head -c 800 "$tmp/err") $(head -c 800 "$tmp/out")"
  grep -q "pooled_progress: $np ranks, 0 failure(s)" "$tmp/out" || fail "$np ranks: no verdict"
done
finish
