#!/usr/bin/env bash
# Installs what building and testing dsim needs, on Debian 12 (or a close
# Ubuntu), with apt. Idempotent: installs only the packages that are missing
# and touches nothing (not even the package lists) when none is.
# Run as root, or as a user who may sudo.
# Also installs the web packages (web/package.json: uPlot, which the HTML
# report embeds, and playwright-core, which drives the browser tests) with
# `npm ci` in web/ when web/node_modules is missing or older than the lock
# file; Chromium (the browser tests' browser) and node/npm come from Debian
# (node and npm only when no `node`/`npm` is on PATH).
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libtomlplusplus-dev libcli11-dev libfmt-dev nlohmann-json3-dev librandom123-dev
  libgtest-dev libgmock-dev libbenchmark-dev libmetis-dev
  libzstd-dev libxxhash-dev
  libcpp-httplib-dev
  libopenmpi-dev openmpi-bin
  chromium
  # pydsim (python/): built with pybind11 for Debian's /usr/bin/python3, with
  # its dependencies from Debian (there is no other package index), and what
  # its tests use (pytest; nbclient and ipykernel execute the notebook).
  python3-dev pybind11-dev python3-numpy python3-pandas python3-xarray python3-matplotlib
  python3-optuna python3-mpi4py python3-pytest python3-nbclient python3-nbformat
  python3-ipykernel python3-numba
)
command -v node >/dev/null || packages+=(nodejs)
command -v npm >/dev/null || packages+=(npm)

web_packages() {
  local web
  web="$(cd "$(dirname "${BASH_SOURCE[0]}")/../web" && pwd)"
  local stamp=$web/node_modules/.package-lock.json  # written by npm ci
  if [ -f "$stamp" ] && [ ! "$web/package-lock.json" -nt "$stamp" ] &&
    [ ! "$web/package.json" -nt "$stamp" ]; then
    echo "setup: web/node_modules up to date"
    return 0
  fi
  echo "setup: npm ci in web/"
  (cd "$web" && npm ci --no-audit --no-fund)
}

missing=()
for p in "${packages[@]}"; do
  if ! dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present"
  web_packages
  exit 0
fi

if ! command -v apt-get >/dev/null; then
  echo "setup: missing packages (${missing[*]}) and no apt-get; install them by hand" >&2
  exit 1
fi
as_root=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then
    as_root=(sudo)
  else
    echo "setup: missing packages (${missing[*]}); run as root to install them" >&2
    exit 1
  fi
fi

echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -q
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -q --no-install-recommends "${missing[@]}"
web_packages
