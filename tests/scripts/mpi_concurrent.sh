#!/usr/bin/env bash
# Two Simulations at once in each process under MPI, on different
# communicators (a split of the world and a duplicate of it), in a host
# program that initialised MPI itself: each gives its one-process result.
# Env (set by CTest): DSIM, DSIM_SOURCE_DIR, DSIM_BUILD_DIR, DSIM_WITH_MPI.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/mpi.bash"
host_program dsim_mpi_concurrent concurrent_runs 2 4
finish
