"""examples/python/tutorial.ipynb runs from top to bottom without an error.

The notebook runs in a Jupyter kernel of the interpreter running this test
(a kernelspec written for the occasion, so a kernel of that name installed
elsewhere cannot stand in), with the package under test on its PYTHONPATH
and its working directory examples/python, as a reader's would be. The
executed notebook, outputs and charts included, is kept under
DSIM_TEST_OUTPUT/notebook (CTest sets it; by hand, a pytest temporary folder).
"""

import json
import os
import pathlib
import sys

import nbclient  # python3-nbclient, python3-nbformat and python3-ipykernel: scripts/setup.sh
import nbformat
import pytest


@pytest.fixture
def out(tmp_path) -> pathlib.Path:
    root = os.environ.get("DSIM_TEST_OUTPUT")
    folder = (pathlib.Path(root) if root else tmp_path) / "notebook"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def kernel_env(tmp_path, monkeypatch, python_path) -> dict:
    """The kernel's environment: a kernelspec under the kernel name the
    notebook asks for, running sys.executable (Debian's /usr/bin/python3,
    which runs the tests), first on JUPYTER_PATH, pydsim first on PYTHONPATH, and matplotlib's
    inline backend (the tests' Agg would leave the charts out of the
    notebook)."""
    spec = tmp_path / "jupyter" / "kernels" / "python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (pydsim test)",
        "language": "python",
    }))
    # The kernelspec manager reads JUPYTER_PATH from this process's environment.
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in [os.path.abspath(python_path), env.get("PYTHONPATH", "")] if p)
    env.pop("MPLBACKEND", None)
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"  # the debugger's frozen-modules notice
    return env


def test_tutorial_runs(repo, out, kernel_env):
    path = repo / "examples" / "python" / "tutorial.ipynb"
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(notebook, kernel_name="python3", timeout=120,
                                     resources={"metadata": {"path": str(path.parent)}})
    try:
        client.execute(env=kernel_env)
    finally:
        nbformat.write(notebook, out / "tutorial.ipynb")
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(cell.execution_count for cell in code)
    errors = [o for cell in code for o in cell.outputs if o.output_type == "error"]
    assert not errors
    # Two charts: the epidemic's series and the experiment.
    images = [o for cell in code for o in cell.outputs if "image/png" in o.get("data", {})]
    assert len(images) == 2
