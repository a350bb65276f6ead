"""How many servers, and how fast? An M/M/c design by simulation-based
optimisation, checked against queueing theory.

Customers arrive at rate 2.1 per hour (models/queueing/mmc.toml). Each
server costs 2 per hour plus 2 per unit of speed (a server of speed mu
serves in 1/mu hours on average); a waiting customer costs 5 per hour. The
cost per hour of c servers of speed mu is

    cost = c * (2 + 2 * mu) + 5 * lambda * Wq

(lambda * Wq: the customers waiting, on average, by Little's law). Optuna
searches c in 1..6 and mu in 0.5..2.5 by 0.25; each trial is a few
replications of the model, all with the same seeds (common random numbers).
The script then computes the exact cost of every grid point with Erlang C
and compares. Unstable designs (c * mu <= lambda) cost infinitely much by
the formula; the simulation sees a queue that grows the whole run, hence a
large cost.

Run: /usr/bin/python3 examples/python/mmc_cost.py
"""

import math
import pathlib

import pydsim

MODEL = pathlib.Path(__file__).resolve().parents[2] / "models" / "queueing" / "mmc.toml"
ARRIVAL_RATE = 2.1                    # models/queueing/mmc.toml: exp(rate=2.1)
SERVER_COST, SPEED_COST, WAIT_COST = 2.0, 2.0, 5.0
SERVERS = range(1, 7)
SPEEDS = {"from": 0.5, "to": 2.5, "step": 0.25}
SERVERS_KEY = "entities.queue.params.servers"
SERVICE_KEY = "entities.queue.params.service"


def cost(servers: int, speed: float, wait: float) -> float:
    return servers * (SERVER_COST + SPEED_COST * speed) + WAIT_COST * ARRIVAL_RATE * wait


def erlang_c_wait(servers: int, speed: float, arrival_rate: float = ARRIVAL_RATE) -> float:
    """Mean wait in queue Wq of an M/M/c queue (inf when unstable)."""
    a = arrival_rate / speed
    rho = a / servers
    if rho >= 1:
        return math.inf
    below = sum(a**k / math.factorial(k) for k in range(servers))
    top = a**servers / (math.factorial(servers) * (1 - rho))
    p_wait = top / (below + top)
    return p_wait / (servers * speed - arrival_rate)


def speed_grid() -> list[float]:
    count = round((SPEEDS["to"] - SPEEDS["from"]) / SPEEDS["step"]) + 1
    return [SPEEDS["from"] + i * SPEEDS["step"] for i in range(count)]


def analytic_optimum() -> tuple[dict, float]:
    grid = [(c, mu) for c in SERVERS for mu in speed_grid()]
    best = min(grid, key=lambda g: cost(*g, erlang_c_wait(*g)))
    return {"servers": best[0], "speed": best[1]}, cost(*best, erlang_c_wait(*best))


def main(end_time: float = 2000.0, replications: int = 5, n_trials: int = 40,
         batch: int = 4, seed: int = 1, workers: int = 0, quiet: bool = False) -> dict:
    """Optimises, prints a short report and returns its figures: best and
    analytic (servers, speed), their costs, steps_apart (grid steps between
    the two, the larger of the two coordinates), and the OptimizeResult."""
    model = pydsim.load(MODEL, set={"simulation.end_time": float(end_time)})

    def objective(trial) -> float:
        return cost(trial.params[SERVERS_KEY], trial.params[SERVICE_KEY],
                    trial.value("queue.wait.mean"))

    found = pydsim.optimize(
        model,
        space={SERVERS_KEY: SERVERS, SERVICE_KEY: dict(SPEEDS, format="exp(rate={})")},
        objective=objective, n_trials=n_trials, replications=replications, seed=seed,
        batch=batch, workers=workers)
    best = {"servers": found.best_params[SERVERS_KEY], "speed": found.best_params[SERVICE_KEY]}
    exact, exact_cost = analytic_optimum()
    best_exact_cost = cost(best["servers"], best["speed"],
                           erlang_c_wait(best["servers"], best["speed"]))
    steps_apart = max(abs(best["servers"] - exact["servers"]),
                      round(abs(best["speed"] - exact["speed"]) / SPEEDS["step"]))
    if not quiet:
        print(f"M/M/c, arrivals {ARRIVAL_RATE}/h; cost = c*({SERVER_COST:g} + "
              f"{SPEED_COST:g}*speed) + {WAIT_COST:g}*waiting customers")
        print(f"{len(found.trials)} trials of {replications} replications, end_time "
              f"{end_time:g}, {found.trials[[SERVERS_KEY, SERVICE_KEY]].drop_duplicates().shape[0]}"
              f" distinct designs of {len(SERVERS) * len(speed_grid())}")
        print(f"simulation optimum: {best['servers']} servers of speed {best['speed']:g}, "
              f"cost {found.best_value:.3f} (Erlang C: {best_exact_cost:.3f})")
        print(f"Erlang C optimum:   {exact['servers']} servers of speed {exact['speed']:g}, "
              f"cost {exact_cost:.3f}")
        verdict = "the same design" if steps_apart == 0 else f"{steps_apart} grid step(s) apart"
        print(f"{verdict}; the design found costs {100 * (best_exact_cost / exact_cost - 1):.1f}%"
              " more than the optimum")
    return {"best": best, "best_value": found.best_value, "best_exact_cost": best_exact_cost,
            "analytic": exact, "analytic_cost": exact_cost, "steps_apart": steps_apart,
            "result": found}


if __name__ == "__main__":
    main()
