#!/usr/bin/env bash
# Progress under MPI is the whole job's: tests/mpi/pooled_progress.cpp under
# mpirun with 2 and 3 ranks (conservative and optimistic, 2 threads each);
# the watchers' updates cover every partition and are, bit for bit, a prefix
# of the finished run's series.
# Env (set by CTest): DSIM, DSIM_SOURCE_DIR, DSIM_BUILD_DIR, DSIM_WITH_MPI.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/mpi.bash"
host_program dsim_mpi_progress pooled_progress 2 3
finish
