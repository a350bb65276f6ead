#!/usr/bin/env bash
# Builds the dsim program (Release, into build/) and runs an example model,
# printing its summary. Results go to results/example/. Also builds pydsim,
# the Python package, makes `import pydsim` work for Debian's /usr/bin/python3
# (scripts/python-path.sh) and runs the same model from Python.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/setup.sh

jobs=$(nproc 2>/dev/null || echo 2)
if [ ! -f build/CMakeCache.txt ]; then
  # Only the program: tests and benchmarks are scripts/test.sh's business.
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DDSIM_BUILD_TESTS=OFF -DDSIM_BUILD_BENCH=OFF
fi
cmake --build build --target dsim_cli pydsim -j "$jobs"
bash scripts/python-path.sh build

model=models/queueing/mm1.toml
[ -f "$model" ] || model=models/phold/phold.toml
echo
echo "\$ ./build/dsim run $model --out results/example"
./build/dsim run "$model" --out results/example
echo
echo "Files: $(cd results/example && ls | tr '\n' ' ')"
echo
echo "\$ /usr/bin/python3  # the same model from Python"
/usr/bin/python3 - "$model" <<'PY'
import sys
import pydsim
result = pydsim.load(sys.argv[1]).run()
print(result.stats.head(8).to_string(index=False))
print(f"{result.figures['events_processed']:,} events in {result.figures['wall_seconds']:.2f} s")
PY
echo "More: ./build/dsim --help, ./build/dsim list, models/*/README.md, docs/python.md"
