#!/usr/bin/env bash
# Checks a build made with -DDSIM_WITH_MPI=OFF (scripts/test.sh, job
# "nompi"): the program says it has no MPI, passes the CLI tests, and under
# mpirun warns that each process runs the whole model alone (and still
# writes correct results). Ends with a ctest-style summary line.
# Usage: tests/no_mpi.sh BUILD_DIR
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
build=${1:?usage: tests/no_mpi.sh BUILD_DIR}
export DSIM=$PWD/$build/dsim DSIM_SOURCE_DIR=$PWD
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0
total=0
check() {  # check NAME COMMAND...
  total=$((total + 1))
  if "${@:2}"; then echo "passed: $1"; else echo "FAILED: $1"; failed=$((failed + 1)); fi
}

says_no_mpi() { "$DSIM" --version | grep -q 'without MPI'; }
check "--version says: without MPI" says_no_mpi
check "tests/scripts/cli.sh" bash tests/scripts/cli.sh

under_mpirun() {
  command -v mpirun >/dev/null || { echo "(no mpirun: skipped)"; return 0; }
  OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 mpirun --oversubscribe -np 2 \
    sh -c '"$0" run "$1" -q --out "$2.$OMPI_COMM_WORLD_RANK"' "$DSIM" \
    models/queueing/mm1.toml "$tmp/r" >"$tmp/out" 2>"$tmp/err" || return 1
  grep -q 'built without MPI' "$tmp/err" || { cat "$tmp/err"; return 1; }
  "$DSIM" run models/queueing/mm1.toml -q --out "$tmp/ref" >/dev/null &&
    cmp -s "$tmp/ref/results.csv" "$tmp/r.0/results.csv" &&
    cmp -s "$tmp/ref/results.csv" "$tmp/r.1/results.csv"
}
check "under mpirun: a warning, and each process runs the model alone" under_mpirun

echo "$(( (total - failed) * 100 / total ))% tests passed, $failed tests failed out of $total"
[ "$failed" -eq 0 ]
