#!/usr/bin/env bash
# Builds dsim and runs the whole test suite, in three jobs:
#   release  Release build in build/ (library, program, tests, benchmarks,
#            pydsim); every CTest test, pydsim's pytest files among them
#            (python.*, run by Debian's /usr/bin/python3).
#   asan     AddressSanitizer + UndefinedBehaviorSanitizer build in build-asan/;
#            unit, integration and CLI tests with DSIM_TEST_SCALE=0.1.
#            (The sanitizer jobs also set DSIM_TEST_TIMEOUT_FACTOR: the tests'
#            time limits on one run, meant for a release build, stretch by it.)
#   tsan     ThreadSanitizer build in build-tsan/; the tests that run threads
#            (names matching Parallel|Threads|Conservative|Determinism|Optimistic,
#            the checkpoint faults and the checkpoint column of phold, the
#            experiments' worker threads, and the MPI scripts: ranks with 2
#            threads each).
#   nompi    library and program built with -DDSIM_WITH_MPI=OFF in build-nompi/;
#            tests/no_mpi.sh (the CLI tests, and what mpirun does with it).
# The release, asan and tsan jobs include the MPI tests (tests/scripts/mpi_*.sh:
# up to 4 processes with mpirun --oversubscribe, one run over TCP).
# Every job runs even when an earlier one failed. The last line sums up all
# jobs; the exit status is non-zero if any build or test failed.
# Build directories are reused, so a second run only rebuilds what changed.
# scripts/setup.sh (run first) also installs the web packages (npm ci in web/:
# uPlot for the HTML report, playwright-core) and Debian's chromium, with
# which tests/scripts/report.sh opens reports in a real browser (and
# tests/scripts/dashboard.sh the live dashboard).
# On this project's 2-core VM, with warm build folders, the whole took 23 min
# (tests: release 6 min, asan 9.5, tsan 6, nompi 0.1; the builds partly
# cached). A fresh clone adds the compiling: about 7 min release (pydsim
# included), 9.5 asan, 4.5 tsan (both at -O1 -g1) and 2 nompi.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/setup.sh || { echo "test: setup failed" >&2; exit 1; }

jobs=$(nproc 2>/dev/null || echo 2)
ctest_jobs=2
start_all=$SECONDS
total_passed=0
total_failed=0
report=()

# mpirun refuses root unless told; CI containers run as root.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1

# ThreadSanitizer cannot map its shadow memory under some kernels' address
# randomisation; run its tests without it where the container allows that.
no_aslr=()
if setarch "$(uname -m)" -R true 2>/dev/null; then no_aslr=(setarch "$(uname -m)" -R); fi

# job NAME DIR CMAKE_ARG... -- TEST_COMMAND...
job() {
  local name=$1 dir=$2
  shift 2
  local cmake_args=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do cmake_args+=("$1"); shift; done
  shift
  local start=$SECONDS
  [ -f "$dir/CMakeCache.txt" ] || cmake_args=(-G Ninja "${cmake_args[@]}")

  echo
  echo "=== $name: build in $dir"
  if ! cmake -S . -B "$dir" "${cmake_args[@]}" || ! cmake --build "$dir" -j "$jobs"; then
    report+=("$name: build FAILED ($((SECONDS - start)) s)")
    total_failed=$((total_failed + 1))
    return
  fi
  local built=$SECONDS
  echo "=== $name: test"
  local log="$dir/test.log"
  "$@" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  # ctest ends with "NN% tests passed, F tests failed out of T".
  local line failed total passed
  line=$(grep -E '[0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1)
  if [ -n "$line" ]; then
    failed=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$line")
    total=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\2/' <<<"$line")
    passed=$((total - failed))
  else
    passed=0
    failed=1  # no summary: ctest itself failed or found no tests
  fi
  if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
  total_passed=$((total_passed + passed))
  total_failed=$((total_failed + failed))
  report+=("$name: $passed passed, $failed failed (build $((built - start)) s, tests $((SECONDS - built)) s)")
  # ctest lists the failed tests after "The following tests FAILED:"; the
  # summary repeats them, so a log cut short still names them.
  local names
  names=$(sed -n '/The following tests FAILED:/,$p' "$log" | grep -E '^[[:space:]]+[0-9]+ - ' || true)
  while IFS= read -r l; do [ -n "$l" ] && report+=("    $name failed:${l}"); done <<<"$names"
}

job release build -DCMAKE_BUILD_TYPE=Release -DDSIM_BUILD_TESTS=ON -DDSIM_BUILD_BENCH=ON \
  -- ctest --test-dir build -j "$ctest_jobs" --output-on-failure --no-tests=error

# The sanitizer builds compile at -O1 with line tables only: half the compile
# time of -O2 -g, and still the file and line in every report.
san_flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG")

job asan build-asan "${san_flags[@]}" -DDSIM_SANITIZE=address \
  -DDSIM_BUILD_TESTS=ON -DDSIM_BUILD_BENCH=OFF \
  -- env DSIM_TEST_SCALE=0.1 DSIM_TEST_TIMEOUT_FACTOR=3 ctest --test-dir build-asan -j "$ctest_jobs" \
  --output-on-failure --no-tests=error -E '^script\.plugin_install$'

job tsan build-tsan "${san_flags[@]}" -DDSIM_SANITIZE=thread \
  -DDSIM_BUILD_TESTS=ON -DDSIM_BUILD_BENCH=OFF \
  -- env DSIM_TEST_SCALE=0.1 DSIM_TEST_TIMEOUT_FACTOR=5 "${no_aslr[@]}" \
  ctest --test-dir build-tsan -j "$ctest_jobs" --output-on-failure --no-tests=error \
  -R 'Parallel|Threads|Conservative|Determinism|Optimistic|CheckpointFaults|CheckpointColumn.*/phold |^Experiment\.(Same|Stopped|Failed|StoppingRule)|^Reseeded|^script\.mpi_'

# A build without MPI must still work exactly as one process always did.
job nompi build-nompi -DCMAKE_BUILD_TYPE=Release -DDSIM_WITH_MPI=OFF -DDSIM_BUILD_TESTS=OFF \
  -DDSIM_BUILD_BENCH=OFF -DDSIM_BUILD_PYTHON=OFF -- bash tests/no_mpi.sh build-nompi

echo
echo "=== summary ($(( (SECONDS - start_all) / 60 )) min $(( (SECONDS - start_all) % 60 )) s)"
for line in "${report[@]}"; do echo "  $line"; done
echo "test: $total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ]
