#!/usr/bin/env bash
# The live dashboard's cost (issue #12 bar: event rate >= 0.98x): PHOLD
# (models/phold/phold.toml, 2 threads, conservative) without the dashboard
# and with it on and a viewer connected (curl following /api/events; a
# second case adds a browser-like viewer polling /api/status twice a
# second), alternating, REPEAT times each. Prints one JSON line per pair
# (event rates from manifest.json) and the medians and best-of ratios.
# Usage: bench/dashboard_bench.sh [DSIM]     (default: build/dsim)
# Env:   REPEAT=N (default 5), END=T (simulated end time, default 2000)
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
dsim=$(realpath "${1:-build/dsim}")
model=$(realpath models/phold/phold.toml)
repeat=${REPEAT:-5}
end=${END:-2000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rate() { /usr/bin/python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['run']['event_rate'])" "$1/manifest.json"; }
args=(run "$model" -t 2 --sync conservative --end-time "$end" -q)
for ((i = 1; i <= repeat; ++i)); do
  rm -rf "$work"/plain "$work"/dash
  "$dsim" "${args[@]}" -o "$work/plain" || exit 1
  : >"$work/err"  # not the last run's URL
  "$dsim" "${args[@]}" -o "$work/dash" --dashboard 127.0.0.1:0 2>"$work/err" &
  pid=$!
  url=
  while [ -z "$url" ] && kill -0 "$pid" 2>/dev/null; do
    url=$(grep -o 'http://[^ ]*' "$work/err")
    sleep 0.02
  done
  curl -sN "${url}api/events" >"$work/events.txt" 2>/dev/null &
  viewer=$!
  wait "$pid" || exit 1
  wait "$viewer"
  cmp -s "$work/plain/results.csv" "$work/dash/results.csv" || echo "WARNING: results differ" >&2
  echo "{\"plain\":$(rate "$work/plain"),\"dashboard\":$(rate "$work/dash"),\"events_received\":$(grep -c '^data: ' "$work/events.txt")}"
done | tee "$work/runs.jsonl"
/usr/bin/python3 - "$work/runs.jsonl" <<'PY'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
p = [r["plain"] for r in runs]; d = [r["dashboard"] for r in runs]
print(f"plain     median {statistics.median(p)/1e6:.3f} M ev/s, best {max(p)/1e6:.3f}")
print(f"dashboard median {statistics.median(d)/1e6:.3f} M ev/s, best {max(d)/1e6:.3f}")
print(f"ratio of medians {statistics.median(d)/statistics.median(p):.3f}, of bests {max(d)/max(p):.3f}, "
      f"median of pair ratios {statistics.median(x/y for x, y in zip(d, p)):.3f}")
PY
