"""Charts (pydsim._plot): what the axes hold is what the result holds.

Every chart is also saved as a PNG under DSIM_TEST_OUTPUT/plot (CTest sets
it to the build's test-output/python; by hand, a pytest temporary folder),
to be looked at.
"""

import os
import pathlib

import matplotlib
import numpy as np
import pytest

import pydsim

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

SERVERS = "entities.queue.params.servers"
ARRIVALS = "entities.arrivals.params.interarrival"


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> pathlib.Path:
    root = os.environ.get("DSIM_TEST_OUTPUT")
    folder = (pathlib.Path(root) if root else tmp_path_factory.mktemp("output")) / "plot"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def save(ax, out: pathlib.Path, name: str) -> None:
    path = out / f"{name}.png"
    ax.figure.savefig(path, dpi=80)
    assert path.stat().st_size > 0


@pytest.fixture(scope="module")
def epidemic(repo):
    """An SEIR epidemic among 400 people: five series sampled every day."""
    model = pydsim.load(repo / "models/epidemic/epidemic.toml",
                        set={"entities.people.count": 400,
                             "entities.people.params.initial_infected": 0.02,
                             "simulation.end_time": 60.0})
    return model.run(threads=1)


@pytest.fixture(scope="module")
def histograms(repo):
    """A hand-written result directory with two histograms (no reference
    model records one): queue.wait_hist (20 bins on 0..10, 7 above) and
    server.latency (150 bins on -1.5..1.5, 5 below, 7 above)."""
    return pydsim.read_results(repo / "tests/data/plot/histogram")


@pytest.fixture(scope="module")
def sweep(repo):
    """M/M/c: 3, 4, 5 servers x two arrival rates, 3 replications each."""
    model = pydsim.load(repo / "models/queueing/mmc.toml", set={"simulation.end_time": 300.0})
    return pydsim.experiment(model, vary={SERVERS: [3, 4, 5],
                                          ARRIVALS: ["exp(rate=2)", "exp(rate=2.4)"]},
                             replications=3, workers=2, series=False)


# ---- series -----------------------------------------------------------------------------

def test_series_draws_every_series_over_time(epidemic, out):
    ax = epidemic.plot()
    save(ax, out, "series_all")
    columns = list(epidemic.series.columns)
    assert len(columns) == 5
    assert len(ax.lines) == len(columns)
    for line, column in zip(ax.lines, columns):
        expected = epidemic.series[column].dropna()
        assert line.get_label() == column
        np.testing.assert_array_equal(line.get_xdata(), expected.index.to_numpy())
        np.testing.assert_array_equal(line.get_ydata(), expected.to_numpy())
    assert [t.get_text() for t in ax.get_legend().get_texts()] == columns
    assert ax.get_xlabel() == "time"
    assert ax.get_ylabel() == "value"
    assert ax.get_title() == "epidemic.toml, seed 1"


def test_series_columns_pick_some_on_a_given_axes(epidemic, out):
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    assert epidemic.plot(columns="people.infected", ax=left) is left
    assert epidemic.plot(columns=["people.susceptible", "people.recovered"], ax=right,
                         title="S and R", linewidth=2) is right
    save(left, out, "series_columns")
    assert [line.get_label() for line in left.lines] == ["people.infected"]
    assert left.get_ylabel() == "people.infected"
    np.testing.assert_array_equal(left.lines[0].get_ydata(),
                                  epidemic.series["people.infected"].to_numpy())
    assert [line.get_label() for line in right.lines] == ["people.susceptible",
                                                          "people.recovered"]
    assert right.get_title() == "S and R"
    assert all(line.get_linewidth() == 2 for line in right.lines)


def test_series_unknown_column_names_the_known_ones(epidemic):
    with pytest.raises(ValueError, match=r"no series 'people\.dead' \(series: "
                                         r"people\.susceptible, people\.exposed, .*\)"):
        epidemic.plot(columns=["people.infected", "people.dead"])


def test_series_of_a_run_that_samples_none(repo):
    result = pydsim.load(repo / "models/queueing/mm1.toml").run(end_time=100.0, threads=1)
    with pytest.raises(ValueError, match="no series.*sample_interval"):
        result.plot()


# ---- histograms -------------------------------------------------------------------------

@pytest.mark.parametrize("stat, bins, lo, hi, title", [
    ("queue.wait_hist", 20, 0.0, 10.0, "queue.wait_hist: 2,907 values, 7 above 10"),
    ("server.latency", 150, -1.5, 1.5,
     "server.latency: 30,090 values, 5 below -1.5, 7 above 1.5"),
])
def test_histogram_bars_are_the_bins(histograms, out, stat, bins, lo, hi, title):
    ax = histograms.plot("histogram", stat=stat)
    save(ax, out, f"histogram_{stat}")
    s = histograms.stats
    rows = s[(s["group"] + "." + s["stat"]) == stat].set_index("field")["value"]
    counts = [rows[f"bin_{i}"] for i in range(bins)]
    bars = ax.patches
    assert len(bars) == bins
    width = (hi - lo) / bins
    for i, bar in enumerate(bars):
        assert bar.get_height() == counts[i]
        assert bar.get_x() == pytest.approx(lo + i * width)
        assert bar.get_width() == pytest.approx(width)
    assert ax.get_xlim() == pytest.approx((lo, hi))
    assert ax.get_xlabel() == stat
    assert ax.get_ylabel() == "count"
    assert ax.get_title() == title


def test_histogram_unknown_stat_names_the_histograms(histograms):
    known = r"\(histograms: queue\.wait_hist, server\.latency\)"
    with pytest.raises(ValueError, match=r"no histogram statistic 'queue\.wait' " + known):
        histograms.plot("histogram", stat="queue.wait")  # a tally, not a histogram
    with pytest.raises(ValueError, match=r"which histogram\?.*" + known):
        histograms.plot("histogram")
    with pytest.raises(ValueError, match=r"what='bars'"):
        histograms.plot("bars")


def test_histogram_of_a_run_without_one(epidemic):
    with pytest.raises(ValueError, match=r"\(histograms: none\)"):
        epidemic.plot("histogram", stat="people.infected")


# ---- experiments ------------------------------------------------------------------------

def summary_of(sweep, y: str, **where):
    group, stat, field = y.split(".")
    s = sweep.summary
    rows = s[(s["group"] == group) & (s["stat"] == stat) & (s["field"] == field)]
    for key, value in where.items():
        rows = rows[rows[key] == value]
    return rows.sort_values(SERVERS)


def test_experiment_error_bars_are_the_confidence_intervals(sweep, out):
    ax = sweep.plot(y="queue.wait.mean")
    save(ax, out, "experiment_hue")
    # One line per arrival rate (the second factor), servers along x.
    assert len(ax.containers) == 2
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["exp(rate=2)",
                                                                   "exp(rate=2.4)"]
    assert ax.get_legend().get_title().get_text() == ARRIVALS
    for container, rate in zip(ax.containers, ["exp(rate=2)", "exp(rate=2.4)"]):
        rows = summary_of(sweep, "queue.wait.mean", **{ARRIVALS: rate})
        line, _, (bars,) = container.lines
        np.testing.assert_array_equal(line.get_xdata(), [3, 4, 5])
        np.testing.assert_array_equal(line.get_ydata(), rows["mean"].to_numpy())
        segments = bars.get_segments()
        assert len(segments) == 3
        for segment, (_, row) in zip(segments, rows.iterrows()):
            (x0, low), (x1, high) = segment
            assert x0 == x1 == row[SERVERS]
            assert low == pytest.approx(row["ci_low"], rel=1e-12, abs=1e-15)
            assert high == pytest.approx(row["ci_high"], rel=1e-12, abs=1e-15)
            assert low < row["mean"] < high
    assert ax.get_xlabel() == SERVERS
    assert ax.get_ylabel() == "queue.wait.mean (mean, 95% CI)"
    assert ax.get_title() == f"queue.wait.mean by {SERVERS}"


def test_experiment_fixed_factor_gives_one_line(sweep, out):
    ax = sweep.plot(x=SERVERS, y="queue.wait", hue=None, fixed={ARRIVALS: "exp(rate=2.4)"})
    save(ax, out, "experiment_fixed")
    assert len(ax.containers) == 1
    assert ax.get_legend() is None
    rows = summary_of(sweep, "queue.wait.mean", **{ARRIVALS: "exp(rate=2.4)"})
    np.testing.assert_array_equal(ax.containers[0].lines[0].get_ydata(), rows["mean"])
    assert ax.get_title() == f"queue.wait.mean by {SERVERS}\n{ARRIVALS} = exp(rate=2.4)"


def test_experiment_string_factor_along_x(sweep, out):
    ax = sweep.plot(x=ARRIVALS, y="queue.queue_length.mean")
    save(ax, out, "experiment_string_x")
    assert ax.get_legend().get_title().get_text() == SERVERS
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["3", "4", "5"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["exp(rate=2)", "exp(rate=2.4)"]


def test_experiment_default_y_is_the_first_field(sweep):
    first = sweep.summary.iloc[0]
    ax = sweep.plot()
    assert ax.get_ylabel().startswith(f"{first['group']}.{first['stat']}.{first['field']} ")


def test_experiment_errors_name_what_is_known(sweep):
    with pytest.raises(ValueError, match=rf"other factors vary: {ARRIVALS} \(2 values: "
                                         r"'exp\(rate=2\)', 'exp\(rate=2\.4\)'\); fix them"):
        sweep.plot(y="queue.wait.mean", hue=None)
    with pytest.raises(ValueError, match=r"no statistic queue\.wiat \(statistics: "
                                         r"arrivals\.generated, queue\.arrivals, .*\)"):
        sweep.plot(y="queue.wiat.mean")
    with pytest.raises(ValueError, match=r"queue\.wait has no field 'median' "
                                         r"\(fields: count, mean, stddev, .*\)"):
        sweep.plot(y="queue.wait.median")
    with pytest.raises(ValueError, match=rf"x='servers' is not a factor \(factors: {SERVERS}, "):
        sweep.plot(x="servers")
    with pytest.raises(ValueError, match=r"hue='entities.queue.params.servers' is also x"):
        sweep.plot(hue=SERVERS)
    with pytest.raises(ValueError, match=r"never takes the value 'exp\(rate=3\)' \(its values: "
                                         r"'exp\(rate=2\)', 'exp\(rate=2\.4\)'\)"):
        sweep.plot(hue=None, fixed={ARRIVALS: "exp(rate=3)"})


def test_experiment_lhs_points_are_markers(repo, out):
    model = pydsim.load(repo / "models/queueing/mmc.toml", set={"simulation.end_time": 200.0})
    result = pydsim.experiment(model, vary={SERVERS: {"from": 3, "to": 6},
                                            "entities.queue.params.capacity": {"from": 5,
                                                                               "to": 30}},
                               design="lhs", points=5, replications=2, workers=2, series=False)
    ax = result.plot(y="queue.blocked.total")
    save(ax, out, "experiment_lhs")
    (container,) = ax.containers
    line = container.lines[0]
    assert line.get_linestyle() == "None"
    rows = result.summary[(result.summary["stat"] == "blocked")
                          & (result.summary["field"] == "total")]
    assert sorted(line.get_xdata()) == sorted(rows[SERVERS])
