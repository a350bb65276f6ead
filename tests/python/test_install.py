"""`cmake --install` puts pydsim beside libdsim (lib/python3.X/dist-packages),
and the installed package works on its own, from any directory."""

import os
import subprocess
import sys

import pytest


def test_installed_package_imports_and_runs(tmp_path, repo):
    build = os.environ.get("DSIM_BUILD_DIR")
    cmake = os.environ.get("CMAKE_COMMAND", "cmake")
    if not build:
        pytest.skip("DSIM_BUILD_DIR not given (run through ctest)")
    prefix = tmp_path / "prefix"
    subprocess.run([cmake, "--install", build, "--prefix", str(prefix)], check=True,
                   capture_output=True)
    site = prefix / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / \
        "dist-packages"
    assert (site / "pydsim" / "__init__.py").exists()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "LD_LIBRARY_PATH")}
    env["PYTHONPATH"] = str(site)
    code = ("import pydsim; r = pydsim.load(%r).run(); "
            "print(pydsim.__file__); print(r.figures['events_processed'])"
            % str(repo / "models" / "queueing" / "mm1.toml"))
    done = subprocess.run(["/usr/bin/python3", "-c", code], env=env, cwd=tmp_path,
                          capture_output=True, text=True, check=True)
    where, events = done.stdout.split()
    assert where.startswith(str(site))
    assert int(events) > 0
