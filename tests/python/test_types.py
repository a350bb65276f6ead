"""Entity types written in Python (plain handlers): the same results as the
C++ model on every layout, from Python and from the dsim program (plugins =
["x.py"]), under mpirun, after a checkpoint and resume; errors name the
class, the field, the entity."""

import filecmp
import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import pydsim
from conftest import REPO

PHOLD_PY = REPO / "examples" / "python" / "phold.py"
END = 30  # PHOLD's end time here: ~250,000 events


def phold_config(tmp_path, type_name="phold_py", count=16384, extra=""):
    """models/phold/phold.toml with the Python type (the plugin by absolute path)."""
    text = (REPO / "models" / "phold" / "phold.toml").read_text()
    text = text.replace('type = "phold"', f'type = "{type_name}"')
    text = text.replace("count = 16384", f"count = {count}")
    text = f'plugins = ["{PHOLD_PY}"]\n' + text + extra
    path = tmp_path / f"{type_name}.toml"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def cpp_results(tmp_path_factory, dsim_bin):
    out = tmp_path_factory.mktemp("cpp") / "out"
    subprocess.run([dsim_bin, "run", str(REPO / "models" / "phold" / "phold.toml"), "--quiet",
                    "--set", f"simulation.end_time={END}", "--out", str(out)], check=True)
    return out


def same_results(a, b):
    return all(filecmp.cmp(a / f, b / f, shallow=False) for f in ("results.csv", "results.json"))


@pytest.mark.parametrize("sync,threads", [("sequential", 1), ("conservative", 2),
                                          ("optimistic", 2), ("optimistic", 3)])
def test_phold_py_equals_the_cpp_model_from_the_program(sync, threads, tmp_path, dsim_bin,
                                                        cpp_results):
    config = phold_config(tmp_path)
    out = tmp_path / "out"
    subprocess.run([dsim_bin, "run", str(config), "--quiet", "--set",
                    f"simulation.end_time={END}", "--sync", sync, "--threads", str(threads),
                    "--out", str(out)], check=True)
    assert same_results(cpp_results, out)


def test_phold_py_equals_the_cpp_model_from_python(tmp_path, cpp_results):
    model = pydsim.load(REPO / "examples" / "python" / "phold.toml",
                        set={"simulation.end_time": END})
    assert model.plan()["threads"] == 1, "plain Python types plan one thread"
    model.run(out=tmp_path / "seq")
    assert same_results(cpp_results, tmp_path / "seq")
    model.run(out=tmp_path / "rr", threads=2, sync="conservative", partitioner="round_robin")
    assert same_results(cpp_results, tmp_path / "rr")


def test_rollback_checker_on_a_python_type_with_state(tmp_path):
    """A type whose State changes: the checker runs every event twice and
    compares; the results equal the plain run's."""
    script = tmp_path / "walker.py"
    script.write_text(textwrap.dedent('''
        import numpy as np
        import pydsim
        Step = pydsim.payload("walker.step", [("length", np.int32), ("scale", np.float64)])

        @pydsim.entity_type("walker_py", doc="a random walk over a ring")
        class Walker:
            state = [("position", np.int64), ("steps", np.uint32), ("trail", np.float64, (3,))]
            params = {"spread": (2, "largest step")}
            def __init__(self, setup):
                self.spread = setup.param("spread")
                self.moves = setup.counter("moves", "steps taken")
                self.where = setup.tally("where", "positions")
                self.level = setup.gauge("level", "last step")
            def init(self, state, ctx):
                ctx.send(ctx.self, Step, 1.0, length=1, scale=0.5)
            @pydsim.handler(Step)
            def on_step(self, state, step, ctx):
                state.position += int(step.length)
                state.steps += 1
                state.trail[state.steps % 3] = ctx.now * step.scale
                ctx.add(self.moves)
                ctx.record(self.where, float(state.position) + state.trail.sum())
                ctx.set(self.level, float(step.length))
                nxt = ctx.neighbours[ctx.rng.below(len(ctx.neighbours))]
                ctx.send(int(nxt), Step, 0.5 + ctx.rng.exponential(1.0),
                         length=ctx.rng.integer(-self.spread, self.spread), scale=ctx.rng.uniform())
    '''))
    config = tmp_path / "walker.toml"
    config.write_text(textwrap.dedent(f'''
        plugins = ["{script}"]
        [simulation]
        end_time = 200.0
        seed = 9
        [[entities]]
        name = "w"
        type = "walker_py"
        count = 40
        [[links]]
        from = "w"
        to = "w"
        topology = "ring"
        lookahead = 0.5
    '''))
    model = pydsim.load(config)
    plain = model.run()
    checked = model.run(check_rollback=True)
    assert checked.figures["rollback_checks"] > 0
    assert checked.stats.equals(plain.stats)
    for sync, threads in (("conservative", 2), ("optimistic", 2), ("optimistic", 3)):
        assert model.run(sync=sync, threads=threads).stats.equals(plain.stats), (sync, threads)
    assert plain.value("w", "moves", "total") > 100


def test_checkpoint_and_resume_onto_another_layout(tmp_path, dsim_bin, cpp_results):
    """A checkpoint of the Python type's run, resumed on another engine and
    thread count, finishes with the C++ model's results."""
    config = phold_config(tmp_path)
    ck = tmp_path / "ck"
    subprocess.run([dsim_bin, "run", str(config), "--quiet", "--set",
                    f"simulation.end_time={END}", "--checkpoint-every", "10",
                    "--checkpoint-keep", "5", "--checkpoint-dir", str(ck), "--out",
                    str(tmp_path / "full")], check=True)
    first = sorted(p for p in ck.iterdir() if p.name.startswith("ckpt-"))[0]
    subprocess.run([dsim_bin, "resume", str(first), "--quiet", "--threads", "2", "--sync",
                    "optimistic", "--out", str(tmp_path / "resumed")], check=True)
    assert same_results(cpp_results, tmp_path / "resumed")


def test_mpi_ranks_each_run_python(tmp_path, dsim_bin, cpp_results):
    if os.environ.get("DSIM_WITH_MPI") == "0" or shutil.which("mpirun") is None:
        pytest.skip("no MPI")
    config = phold_config(tmp_path)
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    out = tmp_path / "mpi"
    subprocess.run(["mpirun", "-np", "2", "--oversubscribe", "--bind-to", "none", "--mca",
                    "btl_vader_single_copy_mechanism", "none", dsim_bin, "run", str(config),
                    "--quiet", "--set", f"simulation.end_time={END}", "--sync", "conservative",
                    "--out", str(out)], check=True, env=env, timeout=300)
    assert same_results(cpp_results, out)


def test_experiment_with_a_python_type(tmp_path, dsim_bin):
    config = phold_config(tmp_path, count=256)
    cli = tmp_path / "cli"
    subprocess.run([dsim_bin, "experiment", str(config), "--set", "simulation.end_time=20",
                    "--vary", "entities.phold.params.remote=0.1,0.5", "--replications", "3",
                    "--workers", "2", "--quiet", "--out", str(cli)], check=True)
    model = pydsim.load(config, set={"simulation.end_time": 20})
    e = pydsim.experiment(model, vary={"entities.phold.params.remote": [0.1, 0.5]},
                          replications=3, workers=2, out=tmp_path / "py")
    assert filecmp.cmp(cli / "summary.csv", tmp_path / "py" / "summary.csv", shallow=False)
    # ... and the C++ PHOLD gives the same summary.
    cpp = pydsim.load(REPO / "models" / "phold" / "phold.toml",
                      set={"simulation.end_time": 20, "entities.phold.count": 256})
    c = pydsim.experiment(cpp, vary={"entities.phold.params.remote": [0.1, 0.5]},
                          replications=3, workers=2)
    assert c.summary["mean"].equals(e.summary["mean"])


def test_list_shows_python_types(dsim_bin):
    listed = subprocess.run([dsim_bin, "list", "phold_py", "--plugin", str(PHOLD_PY)],
                            check=True, capture_output=True, text=True).stdout
    assert listed.startswith("phold_py\n")
    for p in ("start_events", "remote", "lookahead", "mean"):
        assert p in listed
    names = [t["name"] for t in pydsim.entity_types(plugins=[str(PHOLD_PY)])]
    assert "phold_py" in names


def write(tmp_path, name, body, count=4):
    script = tmp_path / f"{name}.py"
    script.write_text("import numpy as np\nimport pydsim\n" + textwrap.dedent(body))
    config = tmp_path / f"{name}.toml"
    config.write_text(textwrap.dedent(f'''
        plugins = ["{script}"]
        [simulation]
        end_time = 10.0
        [[entities]]
        name = "g"
        type = "{name}"
        count = {count}
    '''))
    return config


def cli_error(dsim_bin, config):
    done = subprocess.run([dsim_bin, "run", str(config), "--quiet", "--out",
                           str(config.parent / "out")], capture_output=True, text=True)
    return done.returncode, done.stderr


def test_a_python_exception_names_entity_event_time_and_traceback(tmp_path, dsim_bin):
    config = write(tmp_path, "boom", '''
        Tick = pydsim.payload("boom.tick")
        @pydsim.entity_type("boom")
        class Boom:
            state = [("n", np.int64)]
            def __init__(self, setup):
                pass
            def init(self, state, ctx):
                ctx.send(ctx.self, Tick, 1.0)
            @pydsim.handler(Tick)
            def on_tick(self, state, tick, ctx):
                state.n += 1
                if ctx.index == 2 and ctx.now >= 3:
                    return 1 / 0
                ctx.send(ctx.self, Tick, 1.0)
    ''')
    with pytest.raises(pydsim.RunError) as caught:
        pydsim.load(config).run()
    text = str(caught.value)
    assert "g[2]" in text and "boom.tick" in text and "time 3" in text
    assert "ZeroDivisionError: division by zero" in text
    assert "Traceback" in text and "on_tick" in text
    code, stderr = cli_error(dsim_bin, config)
    assert code == 1
    assert "ZeroDivisionError" in stderr and "g[2]" in stderr


@pytest.mark.parametrize("case,body,words", [
    ("object_field", '''
        @pydsim.entity_type("object_field")
        class Bad:
            state = [("name", object)]
            def __init__(self, setup): pass
            def init(self, state, ctx): pass
    ''', ["object_field", "Bad", "'name'", "unsupported type"]),
    ("string_field", '''
        @pydsim.entity_type("string_field")
        class Bad:
            state = [("label", "U8")]
            def __init__(self, setup): pass
            def init(self, state, ctx): pass
    ''', ["string_field", "'label'", "unsupported type"]),
    ("numpy_name", '''
        @pydsim.entity_type("numpy_name")
        class Bad:
            state = [("size", np.int64)]
            def __init__(self, setup): pass
            def init(self, state, ctx): pass
    ''', ["numpy_name", "'size'", "taken by numpy"]),
    ("big_payload", '''
        Big = pydsim.payload("big.one", [("xs", np.float64, (5,))])
    ''', ["big.one", "40 bytes", "32 bytes"]),
    ("not_a_payload", '''
        @pydsim.entity_type("not_a_payload")
        class Bad:
            def __init__(self, setup): pass
            @pydsim.handler("tick")
            def on(self, state, p, ctx): pass
    ''', ["@pydsim.handler", "'tick'"]),
    ("no_handlers", '''
        @pydsim.entity_type("no_handlers")
        class Bad:
            def __init__(self, setup): pass
            def on_tick(self, state, p, ctx): pass
    ''', ["no_handlers", "no handlers", "@pydsim.handler"]),
    ("bad_param", '''
        @pydsim.entity_type("bad_param")
        class Bad:
            params = {"rate": ([1, 2], "a list")}
            def __init__(self, setup): pass
            def init(self, state, ctx): pass
    ''', ["bad_param", "'rate'", "list"]),
    ("wrong_arity", '''
        T = pydsim.payload("arity.t")
        @pydsim.entity_type("wrong_arity")
        class Bad:
            def __init__(self, setup): pass
            @pydsim.handler(T)
            def on(self, state, ctx): pass
    ''', ["wrong_arity", "on takes (self, state, payload, ctx)"]),
    ("syntax", '''
        def broken(:
    ''', ["syntax.py", "line"]),
])
def test_bad_declarations_are_input_errors(case, body, words, tmp_path, dsim_bin):
    config = write(tmp_path, case, body)
    with pytest.raises(pydsim.InputError) as caught:
        pydsim.load(config)
    for w in words:
        assert w in str(caught.value), (w, str(caught.value))
    code, stderr = cli_error(dsim_bin, config)
    assert code == 2, stderr
    for w in words:
        assert w in stderr, (w, stderr)


def test_a_parameter_of_the_wrong_type_names_the_key(tmp_path, dsim_bin):
    config = phold_config(tmp_path)
    with pytest.raises(pydsim.InputError, match=r"entities.phold.params.remote|remote"):
        pydsim.load(config, set={"entities.phold.params.remote": "often"})
    with pytest.raises(pydsim.InputError, match="must be in"):
        pydsim.load(config, set={"entities.phold.params.remote": 1.5})


def test_a_dsim_without_the_script_says_so(tmp_path, dsim_bin):
    config = tmp_path / "missing.toml"
    config.write_text('plugins = ["nowhere.py"]\n[simulation]\nend_time = 1.0\n'
                      '[[entities]]\nname = "g"\ntype = "x"\ncount = 1\n')
    code, stderr = cli_error(dsim_bin, config)
    assert code == 2
    assert "nowhere.py" in stderr


# A type registered in this session: known to every model loaded after it,
# without `plugins`, and usable in a model built from a dict.
_Hop = pydsim.payload("session.hop", [("count", np.int32)])


@pydsim.entity_type("session_hopper", doc="hops around a ring, counting")
class _Hopper:
    state = [("seen", np.int64)]

    def __init__(self, setup):
        self.hops = setup.counter("hops")

    def init(self, state, ctx):
        if ctx.index == 0:
            ctx.send(ctx.self, _Hop, 1.0, count=0)

    @pydsim.handler(_Hop)
    def on_hop(self, state, hop, ctx):
        state.seen += 1
        ctx.add(self.hops, float(hop.count))
        ctx.send(int(ctx.neighbours[0]), _Hop, 1.0, count=hop.count + 1)


def test_a_type_registered_in_the_session_runs_in_a_dict_model():
    model = pydsim.Model({
        "simulation": {"end_time": 50.5},
        "entities": [{"name": "ring", "type": "session_hopper", "count": 5}],
        "links": [{"from": "ring", "to": "ring", "topology": "ring", "lookahead": 1.0}],
    })
    result = model.run()
    # One token, 50 hops: 0 + 1 + ... + 49.
    assert result.value("ring", "hops", "total") == sum(range(50))
    for sync, threads, partitioner in (("conservative", 2, "round_robin"),
                                       ("optimistic", 3, "graph"),
                                       ("conservative", 2, "block")):
        got = model.run(sync=sync, threads=threads, partitioner=partitioner)
        assert got.stats.equals(result.stats), (sync, threads, partitioner)
    assert "session_hopper" in [t["name"] for t in pydsim.entity_types()]
