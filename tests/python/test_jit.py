"""@pydsim.jit: entity-type methods compiled by Numba. PHOLD and the SIR/SEIR
epidemic, written once in Python (examples/python/phold.py, sir.py), give
the C++ models' result files bit for bit in both modes on every layout and
under the rollback checker; a method Numba cannot compile fails the load,
naming it and Numba's reason; errors in compiled code name the entity."""

import filecmp
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

import pydsim
from conftest import REPO

pytest.importorskip("numba")

PHOLD_PY = REPO / "examples" / "python" / "phold.py"
SIR_PY = REPO / "examples" / "python" / "sir.py"
PHOLD_END = 30  # ~250,000 events
SIR_SET = {"entities.people.count": 4000, "simulation.end_time": 120.0}


def python_config(tmp_path, model, cpp_type, type_name, plugin, name=None):
    """A C++ model's config (models/MODEL) with a Python type in its place
    (the plugin by absolute path)."""
    text = (REPO / "models" / model).read_text()
    assert f'type = "{cpp_type}"' in text
    text = text.replace(f'type = "{cpp_type}"', f'type = "{type_name}"')
    path = tmp_path / f"{name or type_name}.toml"
    path.write_text(f'plugins = ["{plugin}"]\n' + text)
    return path


def same_files(a, b, names=("results.csv", "results.json")):
    return all(filecmp.cmp(a / f, b / f, shallow=False) for f in names)


@pytest.fixture(scope="module")
def phold_cpp(tmp_path_factory):
    out = tmp_path_factory.mktemp("phold_cpp") / "out"
    pydsim.load(REPO / "models" / "phold" / "phold.toml",
                set={"simulation.end_time": PHOLD_END}).run(out=out)
    return out


@pytest.fixture(scope="module")
def phold_models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("phold_configs")
    return {t: pydsim.load(python_config(folder, "phold/phold.toml", "phold", t, PHOLD_PY),
                           set={"simulation.end_time": PHOLD_END})
            for t in ("phold_py", "phold_jit")}


LAYOUTS = [("sequential", 1, None), ("conservative", 1, None), ("conservative", 2, None),
           ("conservative", 3, "round_robin"), ("optimistic", 2, "graph"),
           ("optimistic", 3, None)]


@pytest.mark.parametrize("sync,threads,partitioner", LAYOUTS)
@pytest.mark.parametrize("type_name", ["phold_jit", "phold_py"])
def test_phold_equals_the_cpp_model(type_name, sync, threads, partitioner, tmp_path, phold_cpp,
                                    phold_models):
    model = phold_models[type_name]
    model.run(out=tmp_path / "out", sync=sync, threads=threads, partitioner=partitioner)
    assert same_files(phold_cpp, tmp_path / "out")


def test_a_compiled_type_plans_every_core(phold_models):
    """A type compiled throughout runs on every thread (plain Python
    plans one by default)."""
    cpp = pydsim.load(REPO / "models" / "phold" / "phold.toml").plan()
    assert phold_models["phold_jit"].plan()["threads"] == cpp["threads"]
    assert phold_models["phold_py"].plan()["threads"] == 1


def test_phold_jit_under_the_rollback_checker(tmp_path, phold_cpp, phold_models):
    phold_models["phold_jit"].run(out=tmp_path / "out", check_rollback=True)
    assert same_files(phold_cpp, tmp_path / "out")


def test_phold_jit_from_the_program(tmp_path, dsim_bin, phold_cpp):
    config = python_config(tmp_path, "phold/phold.toml", "phold", "phold_jit", PHOLD_PY)
    subprocess.run([dsim_bin, "run", str(config), "--quiet", "--set",
                    f"simulation.end_time={PHOLD_END}", "--sync", "conservative", "--threads",
                    "2", "--out", str(tmp_path / "out")], check=True)
    assert same_files(phold_cpp, tmp_path / "out")


def test_phold_jit_checkpoint_and_resume_onto_another_layout(tmp_path, dsim_bin, phold_cpp):
    config = python_config(tmp_path, "phold/phold.toml", "phold", "phold_jit", PHOLD_PY)
    ck = tmp_path / "ck"
    subprocess.run([dsim_bin, "run", str(config), "--quiet", "--set",
                    f"simulation.end_time={PHOLD_END}", "--checkpoint-every", "10",
                    "--checkpoint-dir", str(ck), "--out", str(tmp_path / "full")], check=True)
    first = sorted(p for p in ck.iterdir() if p.name.startswith("ckpt-"))[0]
    subprocess.run([dsim_bin, "resume", str(first), "--quiet", "--threads", "2", "--sync",
                    "optimistic", "--out", str(tmp_path / "resumed")], check=True)
    assert same_files(phold_cpp, tmp_path / "resumed")


def test_phold_jit_under_mpirun(tmp_path, dsim_bin, phold_cpp):
    if os.environ.get("DSIM_WITH_MPI") == "0" or shutil.which("mpirun") is None:
        pytest.skip("no MPI")
    config = python_config(tmp_path, "phold/phold.toml", "phold", "phold_jit", PHOLD_PY)
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    subprocess.run(["mpirun", "-np", "2", "--oversubscribe", "--bind-to", "none", "--mca",
                    "btl_vader_single_copy_mechanism", "none", dsim_bin, "run", str(config),
                    "--quiet", "--set", f"simulation.end_time={PHOLD_END}", "--sync",
                    "conservative", "--out", str(tmp_path / "mpi")], check=True, env=env,
                   timeout=300)
    assert same_files(phold_cpp, tmp_path / "mpi")


def test_an_experiment_of_a_compiled_type(tmp_path):
    """Replications on parallel workers (each building its groups): the
    plain and the compiled type give the same summary."""
    summaries = []
    for type_name in ("phold_py", "phold_jit"):
        config = python_config(tmp_path, "phold/phold.toml", "phold", type_name, PHOLD_PY)
        model = pydsim.load(config, set={"simulation.end_time": 20,
                                         "entities.phold.count": 256})
        summaries.append(pydsim.experiment(model, vary={"entities.phold.params.remote":
                                                        [0.1, 0.5]},
                                           replications=3, workers=2).summary)
    assert summaries[0].equals(summaries[1])


# ---- groups by name, distribution parameters, record= ----------------------------------

HOPPER = '''
    Hop = pydsim.payload("hopper.hop", [("n", np.int64), ("w", np.float64)])

    class Hopper:
        state = [("n", np.int64), ("seen", np.int64), ("avg", np.float64)]
        params = {"pause": pydsim.distribution("exp(mean=1)", "time between hops")}

        def __init__(self, setup):
            self.pause = setup.param("pause")
            self.hops = setup.counter("hops")
            self.waits = setup.tally("waits")
            self.weights = setup.tally("weights")
            self.seen = setup.tally("seen")

        def other(self, ctx):
            if ctx.group == "left":
                return "right"
            return "left"

        def init(self, state, ctx):
            ctx.send(ctx.self, Hop, 0.5 + self.pause(ctx), n=0, w=1.5)

        def finish(self, state, ctx):
            ctx.record(self.seen, state.seen + state.avg + state.n)

        @pydsim.handler(Hop)
        def on_hop(self, state, hop, ctx):
            state.n += 1
            state.avg = self.pause.mean
            ctx.add(self.hops)
            ctx.record(self.weights, hop.w)
            delay = 0.5 + self.pause(ctx)
            ctx.record(self.waits, delay)
            name = self.other(ctx)  # a computed name
            target = ctx.first_of(name) + ctx.rng.below(ctx.size_of(name))
            if ctx.group == "left":
                state.seen += ctx.size_of("right") + ctx.first_of("left")  # literal names
            if hop.n % 2 == 0:
                ctx.send(target, Hop, delay, record=hop, n=hop.n + 1)  # w as received
            else:
                ctx.send(target, Hop, delay, n=hop.n + 1, w=hop.w * 1.25)

    pydsim.entity_type("hopper")(Hopper)

    @pydsim.entity_type("hopper_jit")
    @pydsim.jit
    class HopperJit(Hopper):
        pass
'''


def test_groups_by_name_distributions_and_record_match_plain_python(tmp_path):
    """ctx.group (a constant of the code: compiled per group), first_of and
    size_of by a literal and by a computed name, a distribution parameter
    of each group (draws and mean) and send's record=: compiled and plain,
    sequential and conservative on 2 threads, give the same results."""
    script = tmp_path / "hopper.py"
    script.write_text("import numpy as np\nimport pydsim\n" + textwrap.dedent(HOPPER))
    group = '[[entities]]\nname = "{}"\ntype = "{}"\ncount = {}\nparams = {{ pause = "{}" }}\n'
    link = '[[links]]\nfrom = "{}"\nto = "{}"\ntopology = "any"\nlookahead = 0.5\n'
    results = []
    for type_name in ("hopper", "hopper_jit"):
        config = tmp_path / f"{type_name}.toml"
        config.write_text(f'plugins = ["{script}"]\n[simulation]\nend_time = 20.0\nseed = 3\n'
                          + group.format("left", type_name, 3, "exp(mean=0.7)")
                          + group.format("right", type_name, 4, "uniform(0.5, 1.5)")
                          + link.format("left", "right") + link.format("right", "left"))
        model = pydsim.load(config)
        for sync, threads in (("sequential", 1), ("conservative", 2)):
            out = tmp_path / f"{type_name}_{sync}"
            results.append((out, model.run(out=out, sync=sync, threads=threads)))
    (first, plain), *others = results
    for out, _ in others:
        assert same_files(first, out), out.name
    assert plain.value("left", "hops", "total") > 30 and plain.value("right", "hops", "total") > 30
    assert plain.value("left", "weights", "max") > 1.5
    code = pydsim._types._types["hopper_jit"]._jit_cache
    assert {key[1] for key in code if isinstance(key[1], str)} == {"left", "right"}, \
        "ctx.group: compiled per group"


# ---- the epidemic ----------------------------------------------------------------------

@pytest.fixture(scope="module", params=["SIR", "SEIR"])
def epidemic(request, tmp_path_factory):
    """(the model, the C++ model's result directory)."""
    out = tmp_path_factory.mktemp("epidemic_cpp") / "out"
    overrides = dict(SIR_SET, **{"entities.people.params.model": request.param})
    pydsim.load(REPO / "models" / "epidemic" / "epidemic.toml", set=overrides).run(out=out)
    return request.param, overrides, out


@pytest.mark.parametrize("type_name,sync,threads,check", [
    ("sir_py", "sequential", 1, False),
    ("sir_jit", "sequential", 1, False),
    ("sir_jit", "conservative", 2, False),
    ("sir_jit", "optimistic", 3, False),
    ("sir_jit", "sequential", 1, True),
])
def test_sir_equals_the_cpp_epidemic(type_name, sync, threads, check, epidemic, tmp_path):
    model_name, overrides, cpp = epidemic
    config = python_config(tmp_path, "epidemic/epidemic.toml", "epidemic", type_name, SIR_PY)
    pydsim.load(config, set=overrides).run(out=tmp_path / "out", sync=sync, threads=threads,
                                           check_rollback=check)
    assert same_files(cpp, tmp_path / "out", ("results.csv", "results.json", "series.csv"))


def test_the_sir_example_runs_from_the_program(tmp_path, dsim_bin):
    cpp, py = tmp_path / "cpp", tmp_path / "py"
    sets = ["--set", "entities.people.count=2000", "--set", "simulation.end_time=60"]
    subprocess.run([dsim_bin, "run", str(REPO / "models" / "epidemic" / "epidemic.toml"),
                    "--quiet", "--out", str(cpp), *sets], check=True)
    subprocess.run([dsim_bin, "run", str(REPO / "examples" / "python" / "sir.toml"), "--quiet",
                    "--threads", "2", "--out", str(py), *sets], check=True)
    assert same_files(cpp, py, ("results.csv", "series.csv"))


# ---- types of the tests' own -------------------------------------------------------------

def write(tmp_path, name, body, count=3, end=10.0, params="", topology="any"):
    """A plugin script (numpy, pydsim imported) and a config of `count`
    entities of type `name` in group g, linked by `topology`."""
    script = tmp_path / f"{name}.py"
    script.write_text("import numpy as np\nimport pydsim\n" + textwrap.dedent(body))
    config = tmp_path / f"{name}.toml"
    config.write_text(f'plugins = ["{script}"]\n[simulation]\nend_time = {end}\nseed = 5\n'
                      f'[[entities]]\nname = "g"\ntype = "{name}"\ncount = {count}\n{params}'
                      '[[links]]\nfrom = "g"\nto = "g"\n'
                      f'topology = "{topology}"\nlookahead = 0.5\n')
    return config


WALKER = '''
    Step = pydsim.payload("{name}.step", [("hops", np.int32), ("scale", np.float64),
                                          ("odd", np.bool_)])

    class Walker:
        state = [("hops", np.int64), ("scale", np.float64), ("odd", np.int64),
                 ("last", np.float64), ("spot", np.int64), ("where", np.int64),
                 ("weight", np.float64), ("bits", np.uint64)]
        params = {{"mean": (1.0, "mean of the exponential part of a delay")}}

        def __init__(self, setup):
            self.mean = setup.param("mean")
            self.steps = setup.counter("steps")
            self.gaps = setup.tally("gaps")
            self.spread = setup.histogram("spread", 0.0, 4.0, 8)
            self.level = setup.gauge("level")
            self.label = "not for compiled code"

        def delay(self, ctx):
            return 0.5 + ctx.rng.exponential(self.mean)

        def init(self, state, ctx):
            ctx.send(ctx.self, Step, self.delay(ctx), hops=0, scale=ctx.rng.uniform(1.0, 2.0))

        def finish(self, state, ctx):
            ctx.record(self.gaps, state.scale + ctx.value(self.steps))

        @pydsim.handler(Step)
        def on_step(self, state, step, ctx):
            state.hops = step.hops
            state.scale = step.scale
            state.odd += step.odd
            ctx.record(self.gaps, ctx.now - state.last)
            ctx.record(self.spread, ctx.rng.normal(2.0, 1.0))
            ctx.set(self.level, ctx.level(self.level) + ctx.rng.poisson(2.0))
            state.last = ctx.now
            ctx.add(self.steps, 2)
            state.spot = ctx.group_first + ctx.rng.below(ctx.group_size)
            state.where = ctx.index + ctx.entity_count
            state.bits = ctx.rng.bits()
            state.weight += ctx.rng.uniform_pos()
            target = ctx.self
            if ctx.rng.bernoulli(0.5):
                k = ctx.rng.integer(0, len(ctx.neighbours) - 1)
                target = ctx.neighbours[k]
                state.weight += ctx.neighbour_weights[k]
            ctx.send(target, Step, self.delay(ctx), hops=step.hops + 1,
                     scale=step.scale * ctx.rng.lognormal(0.0, 0.1), odd=step.hops % 2 == 1)
'''


def walker_types(tmp_path, name, classes):
    """The walker script with `classes` appended; a config per type name."""
    body = textwrap.dedent(WALKER.format(name=name)) + textwrap.dedent(classes)
    config = write(tmp_path, name, body, count=20, end=40.0, topology="ring")
    text = config.read_text()
    return lambda type_name: _retyped(config, text, name, type_name)


def _retyped(config, text, name, type_name):
    path = config.with_name(f"{type_name}.toml")
    path.write_text(text.replace(f'type = "{name}"', f'type = "{type_name}"'))
    return path


def test_fields_statistics_and_draws_match_plain_python(tmp_path):
    """Payload fields of three kinds, every statistic kind, every draw: the
    compiled type, a type mixing compiled and plain methods, and the plain
    one give the same results."""
    config = walker_types(tmp_path, "walker", '''
        pydsim.entity_type("walker")(Walker)

        @pydsim.entity_type("walker_jit")
        @pydsim.jit
        class WalkerJit(Walker):
            pass

        @pydsim.entity_type("walker_mixed")
        class WalkerMixed(Walker):
            on_step = pydsim.jit(Walker.on_step)
    ''')
    plain = pydsim.load(config("walker")).run(out=tmp_path / "plain")
    assert not getattr(pydsim._types._types["walker"].cls.on_step, "_pydsim_jit", False), \
        "pydsim.jit(Base.method) leaves the base's method plain"
    for type_name in ("walker_jit", "walker_mixed"):
        model = pydsim.load(config(type_name))
        if type_name == "walker_mixed":
            assert model.plan()["threads"] == 1, "plain methods hold the GIL: one thread"
        model.run(out=tmp_path / type_name, threads=2, sync="conservative")
        assert same_files(tmp_path / "plain", tmp_path / type_name), type_name
    assert plain.value("g", "steps", "total") > 100


def test_a_method_numba_cannot_compile_fails_the_load(tmp_path, dsim_bin):
    config = write(tmp_path, "uncompilable", '''
        Tick = pydsim.payload("uncompilable.tick")

        @pydsim.entity_type("uncompilable")
        class Uncompilable:
            state = [("n", np.int64)]
            def __init__(self, setup):
                pass
            @pydsim.jit
            def init(self, state, ctx):
                ctx.send(ctx.self, Tick, 1.0)
            @pydsim.jit
            @pydsim.handler(Tick)
            def on_tick(self, state, tick, ctx):
                seen = {}
                seen[ctx.now] = object()
    ''')
    with pytest.raises(pydsim.InputError) as caught:
        pydsim.load(config)
    text = str(caught.value)
    assert "class Uncompilable" in text and "on_tick" in text
    assert "Untyped global name 'object'" in text, text  # Numba's reason
    assert "seen[ctx.now] = object()" in text  # where
    done = subprocess.run([dsim_bin, "validate", str(config)], capture_output=True, text=True)
    assert done.returncode != 0 and "on_tick" in done.stderr and "object" in done.stderr


@pytest.mark.parametrize("case,body,words", [
    ("string_constant", "if self.label == 'x':\n    ctx.add(self.steps)",
     ["self.label is a str", "numbers, booleans, statistics and distributions"]),
    ("wrong_statistic", "ctx.add(self.level)", ["add() takes a counter", "not a gauge"]),
    ("no_such_field", "ctx.send(ctx.self, Step, 1.0, jumps=1)",
     ["payload no_such_field.step has no field 'jumps'", "hops, scale, odd"]),
    ("float_in_int_field", "ctx.send(ctx.self, Step, 1.0, hops=1.5)",
     ["field 'hops' holds int32, not float64"]),
    ("positional_fields", "ctx.send(ctx.self, Step, 1.0, 3)", ["give the payload's fields"]),
    ("record_of_another_layout", "ctx.send(ctx.self, Step, 1.0, record=state)",
     ["record= takes a record of payload record_of_another_layout.step"]),
    ("group_by_number", "ctx.add(self.steps, ctx.size_of(3))",
     ["size_of() takes a group's name (a str)"]),
])
def test_typing_errors_say_what_compiled_code_allows(case, body, words, tmp_path):
    config = walker_types(tmp_path, case, f'''
        @pydsim.entity_type("{case}")
        class Broken(Walker):
            @pydsim.jit
            @pydsim.handler(Step)
            def on_step(self, state, step, ctx):
{textwrap.indent(body, " " * 16)}
    ''')
    with pytest.raises(pydsim.InputError) as caught:
        pydsim.load(config(case))
    text = str(caught.value)
    assert "on_step" in text
    for word in words:
        assert word in text, text


@pytest.fixture(scope="module")
def failing(tmp_path_factory):
    """A compiled type that goes wrong in entity g[1] at time 3 in one of
    several ways (parameter `mode`)."""
    return write(tmp_path_factory.mktemp("failing"), "failing", '''
        Tick = pydsim.payload("failing.tick")

        @pydsim.entity_type("failing")
        @pydsim.jit
        class Failing:
            state = [("n", np.int64)]
            params = {"mode": (0, "how it fails")}
            def __init__(self, setup):
                self.mode = setup.param("mode")
            def init(self, state, ctx):
                ctx.send(ctx.self, Tick, 1.0)
            @pydsim.handler(Tick)
            def on_tick(self, state, tick, ctx):
                state.n += 1
                if ctx.index == 1 and state.n == 3:
                    if self.mode == 1:
                        ctx.fail("the pump overheated")
                    elif self.mode == 2:
                        ctx.send(10**6, Tick, 1.0)
                    elif self.mode == 3:
                        state.n = state.n // (state.n - 3)
                    elif self.mode == 4:
                        state.n += ctx.size_of("nowhere")
                ctx.send(ctx.self, Tick, 1.0)
    ''', params="params = { mode = 0 }\n")


@pytest.mark.parametrize("mode,words", [
    (1, ["the pump overheated"]),
    (2, ["sends to entity id 1000000"]),
    (3, ["on_tick raised an exception in compiled code", "without @pydsim.jit"]),
])
def test_errors_in_compiled_code_name_the_entity(mode, words, failing):
    with pytest.raises(pydsim.RunError) as caught:
        pydsim.load(failing, set={"entities.g.params.mode": mode}).run(threads=2)
    text = str(caught.value)
    assert "g[1]" in text and "time 3" in text, text
    if "dsim_jit_fail_text" not in pydsim._jit._numba_support("test").symbols and mode != 2:
        words = ["failed with code"]  # a bridge that takes codes only
    for word in words:
        assert word in text, text


def test_an_unknown_group_name_fails_the_run(failing):
    with pytest.raises(pydsim.RunError) as caught:
        pydsim.load(failing, set={"entities.g.params.mode": 4}).run(threads=2)
    text = str(caught.value)
    assert "g[1]" in text and "no entity group named 'nowhere'" in text, text


def test_only_the_types_a_model_uses_are_compiled(tmp_path):
    """A plugin's compiled type that Numba cannot type does not stop a
    model that uses another of its types; one that uses it fails to load,
    naming the config entry, the method and Numba's reason."""
    config = write(tmp_path, "picky", '''
        Tick = pydsim.payload("picky.tick")

        class Picky:
            state = [("n", np.int64)]
            params = {"period": pydsim.required(float, "time between ticks")}
            def __init__(self, setup):
                self.period = setup.param("period")
                self.ticks = setup.counter("ticks")
            def init(self, state, ctx):
                ctx.send(ctx.self, Tick, self.period)
            @pydsim.handler(Tick)
            def on_tick(self, state, tick, ctx):
                ctx.add(self.ticks)
                ctx.send(ctx.self, Tick, self.period)

        pydsim.entity_type("picky")(pydsim.jit(type("PickyJit", (Picky,), {})))

        @pydsim.entity_type("picky_broken")
        @pydsim.jit
        class PickyBroken(Picky):
            @pydsim.handler(Tick)
            def on_tick(self, state, tick, ctx):
                ctx.add(self.period)
    ''', params="params = { period = 2.0 }\n")
    result = pydsim.load(config).run()
    assert result.value("g", "ticks", "total") == 3 * 4  # at 2, 4, 6, 8
    broken = config.with_name("picky_broken.toml")
    broken.write_text(config.read_text().replace('"picky"', '"picky_broken"'))
    with pytest.raises(pydsim.InputError) as caught:
        pydsim.load(broken)
    text = str(caught.value)
    assert "picky_broken.toml" in text and "entities 'g'" in text, text
    assert "PickyBroken" in text and "on_tick" in text and "add() takes a counter" in text


def test_without_numba_a_model_using_a_compiled_type_fails_to_load(monkeypatch, tmp_path):
    """Registering needs no Numba (a plugin's plain types still load); a
    model that uses the compiled type is an InputError saying so."""
    from pydsim import _jit
    monkeypatch.setattr(_jit, "_support", None)
    monkeypatch.setitem(sys.modules, "numba", None)  # import numba raises ImportError

    class Lonely:
        state = []

        def __init__(self, setup):
            pass

        @pydsim.jit
        def init(self, state, ctx):
            pass

    pydsim.entity_type("lonely_jit")(Lonely)
    config = tmp_path / "lonely.toml"
    config.write_text('[simulation]\nend_time = 1.0\n[[entities]]\nname = "g"\n'
                      'type = "lonely_jit"\ncount = 2\n')
    with pytest.raises(pydsim.InputError) as caught:
        pydsim.load(config)
    assert "needs Numba" in str(caught.value) and "Lonely" in str(caught.value)


def test_jit_goes_below_entity_type(tmp_path):
    class Late:
        state = []

        def __init__(self, setup):
            pass

        def init(self, state, ctx):
            pass

    pydsim.entity_type("late_plain")(Late)
    with pytest.raises(pydsim.InputError, match="below @pydsim.entity_type"):
        pydsim.jit(Late)
