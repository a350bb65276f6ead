"""Calibrating an epidemic's transmission rate to an observed curve.

The "observed" curve is made by the model itself (models/epidemic/
epidemic.toml: SEIR on a small-world network) at a known beta, with a seed
the calibration never uses: one realisation, as real data would be. Then
pydsim.optimize searches beta for the simulated mean curve of people
infectious per day that is nearest the observed one (sum of squared
differences of the shares of the population).

How sure is the estimate? A parametric bootstrap that costs no extra run:
each replication r of the best trial is a curve the fitted model could
have produced. Taken as the observation, it is fitted again over the betas
already tried, against their mean curves without replication r (so that
the curve is not compared with runs of its own seeds: replications run with
common random numbers). The spread of the refitted betas gives the 95%
interval, and the script checks that the known beta lies in it.

Run: /usr/bin/python3 examples/python/calibrate_epidemic.py
"""

import pathlib

import numpy as np

import pydsim

MODEL = pathlib.Path(__file__).resolve().parents[2] / "models" / "epidemic" / "epidemic.toml"
BETA_KEY = "entities.people.params.beta"
SERIES = "people.infected"


def observe(model: pydsim.Model, beta: float, seed: int, count: int) -> np.ndarray:
    """One run's share of the population infectious, day by day."""
    result = model.copy().set(BETA_KEY, beta).run(seed=seed)
    return result.series[SERIES].to_numpy(dtype=float) / count


def bootstrap(curves: dict, betas: dict, best: int) -> np.ndarray:
    """The beta refitted to each replication of the best trial, against the
    other trials' mean curves without that replication."""
    numbers = sorted(curves)
    stacked = np.stack([curves[n] for n in numbers])           # trial, replication, day
    replications = stacked.shape[1]
    refits = []
    for r in range(replications):
        others = np.delete(stacked, r, axis=1).mean(axis=1)     # trial, day
        loss = ((others - curves[best][r]) ** 2).sum(axis=1)
        refits.append(betas[numbers[int(np.argmin(loss))]])
    return np.array(refits)


def main(count: int = 2000, end_time: float = 100.0, true_beta: float = 0.1,
         replications: int = 16, n_trials: int = 30, batch: int = 6, seed: int = 1,
         observed_seed: int = 12345, workers: int = 0, quiet: bool = False) -> dict:
    """Calibrates, prints a short report and returns its figures: beta (the
    best), interval (low, high), covered (the known beta lies in it),
    refits (the bootstrap's betas) and the OptimizeResult."""
    model = pydsim.load(MODEL, set={"simulation.end_time": float(end_time),
                                    "entities.people.count": int(count),
                                    "entities.people.params.initial_infected": 0.005})
    observed = observe(model, true_beta, observed_seed, count)

    curves, betas = {}, {}

    def objective(trial) -> float:
        shares = trial.series[SERIES].to_numpy() / count        # replication, day
        if shares.shape[1] != observed.size:
            raise ValueError(f"{shares.shape[1]} days simulated, {observed.size} observed")
        curves[trial.number] = shares
        betas[trial.number] = trial.params[BETA_KEY]
        return float(((shares.mean(axis=0) - observed) ** 2).sum())

    found = pydsim.optimize(model, space={BETA_KEY: {"from": 0.04, "to": 0.25, "log": True}},
                            objective=objective, n_trials=n_trials, replications=replications,
                            seed=seed, batch=batch, workers=workers)
    beta = found.best_params[BETA_KEY]
    refits = bootstrap(curves, betas, found.best_trial.number)
    low, high = (float(q) for q in np.quantile(refits, [0.025, 0.975]))
    covered = low <= true_beta <= high
    if not quiet:
        print(f"SEIR on {count} people, {end_time:g} days; observed at beta {true_beta:g} "
              f"(seed {observed_seed}), peak {observed.max():.1%} infectious on day "
              f"{int(observed.argmax()) + 1}")
        print(f"{len(found.trials)} trials of {replications} replications: beta = {beta:.4f}, "
              f"95% bootstrap interval [{low:.4f}, {high:.4f}]")
        print(f"the known beta {true_beta:g} is {'inside' if covered else 'OUTSIDE'} it")
    return {"beta": beta, "interval": (low, high), "covered": covered, "refits": refits,
            "result": found}


if __name__ == "__main__":
    main()
