"""Run under mpirun by tests/python/test_mpi.py: one model across the ranks
with mpi4py's communicator, then an experiment whose runs the ranks share.

    mpirun -np N /usr/bin/python3 run_model.py PYDSIM_DIR MODEL OUT_DIR EXP_DIR
"""
import sys

sys.path.insert(0, sys.argv[1])

from mpi4py import MPI  # noqa: E402

import pydsim  # noqa: E402

comm = MPI.COMM_WORLD
model = pydsim.load(sys.argv[2], set={"simulation.end_time": 100,
                                      "entities.phold.count": 4096})
for sync in ("conservative", "optimistic"):
    result = model.run(sync=sync, threads=2, comm=comm,
                       out=f"{sys.argv[3]}-{sync}")
    if comm.Get_rank() == 0:
        assert result is not None
        assert result.figures["ranks"] == comm.Get_size(), result.figures
        print(f"{sync}: {result.figures['events_processed']} events on "
              f"{result.figures['ranks']} ranks", flush=True)
    else:
        assert result is None
# all_ranks: every process gets the whole result.
every = model.run(sync="conservative", comm=comm, all_ranks=True)
gathered = comm.gather(every.stats["value"].tolist(), root=0)
if comm.Get_rank() == 0:
    assert all(g == gathered[0] for g in gathered), "ranks disagree"

mmc = pydsim.load(sys.argv[5], set={"simulation.end_time": 1000})
e = pydsim.experiment(mmc, vary={"entities.queue.params.servers": [2, 3]}, replications=4,
                      workers=1, comm=comm, out=sys.argv[4])
if comm.Get_rank() == 0:
    assert len(e.points) == 2
    print("experiment done", flush=True)
else:
    assert e is None
