# Shared by the tests/scripts/mpi_*.sh tests: skips when this build has no
# MPI, and wraps mpirun for a CI container (root, 2 cores, no ptrace).
# Env (set by CTest): DSIM, DSIM_SOURCE_DIR, DSIM_WITH_MPI, DSIM_TEST_PLUGIN.
: "${DSIM:?}" "${DSIM_SOURCE_DIR:?}"
if [ "${DSIM_WITH_MPI:-0}" != 1 ]; then
  echo "skipped: dsim was built with -DDSIM_WITH_MPI=OFF"
  exit 77
fi
if ! command -v mpirun >/dev/null; then
  echo "skipped: no mpirun (apt-get install openmpi-bin)"
  exit 77
fi
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# Under AddressSanitizer: OpenMPI keeps allocations until exit, some in
# components it has unloaded by then (which no suppression can name), so leak
# checking is off for these runs; the other tests check dsim's own leaks.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
# Under ThreadSanitizer: not OpenMPI's internal locking (its MPI_Init takes
# two locks in both orders), only dsim's.
export TSAN_OPTIONS="${TSAN_OPTIONS:+$TSAN_OPTIONS:}suppressions=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/tsan-mpi.supp"
# More ranks than cores (CI has 2), and no single-copy shared memory (needs
# ptrace, which containers often forbid).
MPIRUN=(mpirun --oversubscribe --bind-to none --mca btl_vader_single_copy_mechanism none)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
checks=0

fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

# DSIM_TEST_TIMEOUT_FACTOR (default 1) stretches every time limit below;
# scripts/test.sh sets it for the sanitizer builds, which run several times
# slower.
timeout_factor=${DSIM_TEST_TIMEOUT_FACTOR:-1}
if ! awk -v f="$timeout_factor" 'BEGIN { exit !(f ~ /^[0-9]*\.?[0-9]+$/ && f + 0 > 0) }'; then
  echo "DSIM_TEST_TIMEOUT_FACTOR must be a positive number, got '$timeout_factor'" >&2
  exit 1
fi

# scaled SECONDS: a time limit meant for an idle machine and a release build,
# times DSIM_TEST_TIMEOUT_FACTOR, times the load per core right now (1 to 8):
# a machine busy with other jobs must not fail a correct build, and a run
# that hangs must still fail.
scaled() {
  awk -v base="$1" -v factor="$timeout_factor" -v cores="$(nproc 2>/dev/null || echo 1)" 'BEGIN {
    busy = 1
    if ((getline line < "/proc/loadavg") > 0) { split(line, f, " "); busy = f[1] / cores }
    if (busy < 1) busy = 1
    if (busy > 8) busy = 8
    printf "%d\n", base * factor * busy + 0.5
  }'
}

# mpi NP ARGS...: `mpirun -np NP dsim ARGS...`, output in $tmp/last.{out,err},
# exit status in $rc. A run that takes longer than `scaled 120` seconds has
# hung: timeout kills it, and a line in last.err says so.
mpi() {
  local np=$1
  shift
  local limit
  limit=$(scaled 120)
  timeout -k 5 "$limit" "${MPIRUN[@]}" -np "$np" "$DSIM" "$@" >"$tmp/last.out" 2>"$tmp/last.err" </dev/null
  rc=$?
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    echo "(killed after the limit of $limit s: DSIM_TEST_TIMEOUT_FACTOR=$timeout_factor," \
      "load $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null))" >>"$tmp/last.err"
  fi
}

# same_results WANT GOT LABEL: every result file but the manifest (which
# holds timings) is byte-for-byte the same.
same_results() {
  checks=$((checks + 1))
  if [ ! -f "$2/results.csv" ]; then
    fail "$3: no results (exit $rc): $(head -c 600 "$tmp/last.err")"
    return
  fi
  local d
  d=$(diff -r -x manifest.json "$1" "$2" | head -c 600)
  [ -z "$d" ] || fail "$3: results differ from the sequential run: $d"
}

# The messages dsim printed (mpirun adds its own lines about the job).
dsim_lines() { grep "^dsim: " "$tmp/last.err" | grep -v "^dsim: warning: "; }

# host_program PROGRAM NAME NP...: runs tests/PROGRAM (a host program that
# prints "NAME: NP ranks, 0 failure(s)" when all is well) under mpirun with
# each NP, from the source directory's path; skips when it was not built.
host_program() {
  local program=$DSIM_BUILD_DIR/tests/$1 name=$2
  shift 2
  [ -x "$program" ] || { echo "skipped: $program was not built"; exit 77; }
  local np
  for np in "$@"; do
    checks=$((checks + 1))
    echo "--- $np ranks"
    timeout -k 5 $((120 * ${DSIM_TEST_TIMEOUT_FACTOR:-1})) "${MPIRUN[@]}" -np "$np" "$program" \
      "$DSIM_SOURCE_DIR" >"$tmp/out" 2>"$tmp/err" </dev/null
    rc=$?
    cat "$tmp/out"
    [ "$rc" -eq 0 ] || fail "$np ranks: exit $rc: $(head -c 800 "$tmp/err") $(head -c 800 "$tmp/out")"
    grep -q "$name: $np ranks, 0 failure(s)" "$tmp/out" || fail "$np ranks: no verdict"
  done
}

finish() {
  echo "$checks result comparisons, $failures failures"
  [ "$failures" -eq 0 ]
  exit $?
}
