"""Shared fixtures of the pydsim tests (tests/python/).

CTest runs each test file as its own test (tests/CMakeLists.txt) with
DSIM_PYTHON_PATH (the build's python/ folder, holding the package pydsim)
and DSIM_BIN (the dsim program of the same build). By hand:

    DSIM_PYTHON_PATH=build/python DSIM_BIN=build/dsim \
        /usr/bin/python3 -m pytest -q tests/python
"""

import os
import pathlib
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
_python = os.environ.get("DSIM_PYTHON_PATH", str(REPO / "build" / "python"))
if _python not in sys.path:
    sys.path.insert(0, _python)

# Charts are drawn off screen.
os.environ.setdefault("MPLBACKEND", "Agg")

import pydsim  # noqa: E402  (after the path above)


@pytest.fixture(scope="session")
def repo() -> pathlib.Path:
    """The source tree (models/, examples/)."""
    return REPO


@pytest.fixture(scope="session")
def dsim_bin() -> str:
    """The dsim program of the build under test."""
    path = os.environ.get("DSIM_BIN", str(REPO / "build" / "dsim"))
    if not os.path.exists(path):
        pytest.fail(f"no dsim program at {path} (set DSIM_BIN)")
    return path


@pytest.fixture(scope="session")
def python_path() -> str:
    """The folder holding the package pydsim (for child interpreters)."""
    return _python


def scale() -> float:
    """DSIM_TEST_SCALE (default 1): smaller runs where the suite must be quick."""
    return float(os.environ.get("DSIM_TEST_SCALE", "1"))
