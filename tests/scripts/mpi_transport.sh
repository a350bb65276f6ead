#!/usr/bin/env bash
# The transport between processes, driven directly (tests/mpi/transport_paths.cpp):
# point-to-point batches in order with workers or a thread progressing,
# quiescence, the collective exchange, reductions in rank order, flags.
# Env (set by CTest): DSIM, DSIM_SOURCE_DIR, DSIM_BUILD_DIR, DSIM_WITH_MPI.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/mpi.bash"
program=$DSIM_BUILD_DIR/tests/dsim_mpi_transport
[ -x "$program" ] || { echo "skipped: $program was not built"; exit 77; }
for np in 2 3 4; do
  checks=$((checks + 1))
  echo "--- $np ranks"
  timeout -k 5 "$(scaled 60)" "${MPIRUN[@]}" -np "$np" "$program" >"$tmp/out" 2>"$tmp/err" </dev/null
  rc=$?
  cat "$tmp/out"
  [ "$rc" -eq 0 ] || fail "$np ranks: exit $rc: $(head -c 800 "$tmp/err") $(head -c 800 "$tmp/out")"
  grep -q "transport_paths: $np ranks, 0 failure(s)" "$tmp/out" || fail "$np ranks: no verdict"
done
finish
