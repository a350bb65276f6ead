#!/usr/bin/env bash
# Benchmark (not a test) of the HTML report at scale: a hand-made result
# directory of SERIES series of POINTS points each (make_results.py), then
# REPS times `dsim report` (wall seconds) and opening the page in headless
# Chromium (milliseconds from navigation start until every chart is drawn,
# as the page measures it; and the harness's time from goto() to ready).
#   tests/browser/bench_report.sh [DSIM] [SERIES] [POINTS] [REPS]
# Defaults: build/dsim 100 10000 5. Prints one line per repetition, then the
# medians.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
dsim=${1:-$here/../../build/dsim}
series=${2:-100}
points=${3:-10000}
reps=${4:-5}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

/usr/bin/python3 "$here/make_results.py" "$tmp/big" --series "$series" --points "$points" \
  --histograms 0
echo "result: $series series x $points points, series.csv $(du -h "$tmp/big/series.csv" | cut -f1)"
url=$(/usr/bin/python3 -c 'import pathlib, sys; print(pathlib.Path(sys.argv[1]).as_uri())' "$tmp/big.html")
report_s=()
draw_ms=()
ready_ms=()
for i in $(seq "$reps"); do
  start=$(date +%s.%N)
  "$dsim" report "$tmp/big" -o "$tmp/big.html" >/dev/null
  end=$(date +%s.%N)
  report_s+=("$(echo "$end - $start" | bc)")
  node "$here/check_page.mjs" --url "$url" --timeout 60000 \
    --wait 'window.dsimReport && window.dsimReport.ready' \
    --eval '({drawn: window.dsimReport.drawn, draw_ms: window.dsimReport.drawMs})' >"$tmp/page.json"
  read -r drawn d r < <(/usr/bin/python3 -c 'import json, sys; j = json.load(open(sys.argv[1])); print(j["eval"]["drawn"], round(j["eval"]["draw_ms"]), j["ready_ms"])' "$tmp/page.json")
  draw_ms+=("$d")
  ready_ms+=("$r")
  echo "rep $i: dsim report ${report_s[-1]} s ($(du -h "$tmp/big.html" | cut -f1)); page: $drawn charts drawn at $d ms (harness: ready after $r ms)"
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
echo "median: dsim report $(median "${report_s[@]}") s; charts drawn at $(median "${draw_ms[@]}") ms (harness $(median "${ready_ms[@]}") ms)"
