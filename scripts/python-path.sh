#!/usr/bin/env bash
# Makes `import pydsim` work for Debian's /usr/bin/python3 without any
# environment variable: writes pydsim.pth, naming BUILD/python (default
# build/python), into that interpreter's site-packages folder for local
# packages (/usr/local/lib/python3.X/dist-packages). Run as root, or as a
# user who may sudo. In a virtual environment, write the same line into its
# site-packages (docs/python.md).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
build=${1:-build}
python=/usr/bin/python3
package_dir=$(cd "$build/python" && pwd)
[ -f "$package_dir/pydsim/__init__.py" ] || {
  echo "python-path: no pydsim in $package_dir (build the target pydsim first)" >&2
  exit 1
}
site=$("$python" -c 'import site; print(site.getsitepackages()[0])')
as_root=()
if [ "$(id -u)" -ne 0 ] && ! { mkdir -p "$site" 2>/dev/null && [ -w "$site" ]; }; then
  if command -v sudo >/dev/null; then
    as_root=(sudo)
  else
    echo "python-path: cannot write $site; run as root, or add $package_dir to PYTHONPATH" >&2
    exit 1
  fi
fi
"${as_root[@]}" mkdir -p "$site"
echo "$package_dir" | "${as_root[@]}" tee "$site/pydsim.pth" >/dev/null
echo "python-path: $site/pydsim.pth -> $package_dir"
