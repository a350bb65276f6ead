#!/usr/bin/env bash
# The live dashboard (dsim run --dashboard, dsim serve): the refused binds and
# requests, /api/status and /api/events during a run, a viewer that stops
# reading (the run is not slowed, the program exits as usual), and headless
# Chromium (tests/browser/check_page.mjs) on the page during a run (every
# chart drawn, values advancing, no console error, the final state kept after
# dsim exited) and on `dsim serve` of the finished result. Screenshots go to
# $DSIM_BUILD_DIR/test-output/dashboard/.
# Env (set by CTest): DSIM, DSIM_SOURCE_DIR, DSIM_BUILD_DIR.
set -uo pipefail
: "${DSIM:?}" "${DSIM_SOURCE_DIR:?}"
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT
shots=${DSIM_BUILD_DIR:-$tmp}/test-output/dashboard
mkdir -p "$shots"
py=/usr/bin/python3
mm1=$DSIM_SOURCE_DIR/models/queueing/mm1.toml
phold=$DSIM_SOURCE_DIR/models/phold/phold.toml
epidemic=$DSIM_SOURCE_DIR/models/epidemic/epidemic_1m.toml
failures=0
# Sanitizer builds run several times slower (scripts/test.sh sets this).
factor=${DSIM_TEST_TIMEOUT_FACTOR:-1}
factor=${factor%%.*}
[ "${factor:-0}" -ge 1 ] 2>/dev/null || factor=1

fail() {
  echo "dashboard.sh: FAIL: $*" >&2
  failures=$((failures + 1))
}

# start NAME ARGS...: starts `dsim ARGS...` in the background (stderr in
# $tmp/NAME.err) and waits for the URL line it prints; sets $pid and $url.
start() {
  local name=$1
  shift
  : >"$tmp/$name.err"
  "$DSIM" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" </dev/null &
  pid=$!
  pids+=("$pid")
  url=
  for _ in $(seq 1 $((300 * factor))); do
    url=$(grep -o 'http://[^ ]*' "$tmp/$name.err" | head -1)
    [ -n "$url" ] && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  fail "$name: no dashboard URL on stderr: $(head -c 500 "$tmp/$name.err")"
  return 1
}
# finish NAME: waits for the background dsim; sets $rc.
finish() {
  wait "$pid"
  rc=$?
}
# api URL: the base URL with the path; keeps a ?token=.
api() {  # api PATH [TOKEN]
  local base=${url%%\?*}
  echo "${base%/}$1${2:+?token=$2}"
}

echo "--- refused binds"
"$DSIM" run "$mm1" --out "$tmp/r1" --dashboard 0.0.0.0:0 >"$tmp/r1.out" 2>"$tmp/r1.err"
rc=$?
[ "$rc" -eq 2 ] || fail "non-loopback bind without --dashboard-remote: exit $rc, want 2"
grep -q "0.0.0.0" "$tmp/r1.err" || fail "the refusal does not name the address: $(cat "$tmp/r1.err")"
grep -q -- "--dashboard-remote" "$tmp/r1.err" || fail "the refusal does not name the flag"
[ "$(wc -l <"$tmp/r1.err")" -eq 1 ] || fail "the refusal is not one line: $(cat "$tmp/r1.err")"
[ ! -e "$tmp/r1" ] || fail "a refused dashboard still ran"
"$DSIM" run "$mm1" --out "$tmp/r2" --dashboard nowhere:port >"$tmp/r2.out" 2>"$tmp/r2.err"
rc=$?
[ "$rc" -eq 2 ] && grep -q "nowhere:port" "$tmp/r2.err" ||
  fail "a malformed address: exit $rc, $(cat "$tmp/r2.err")"
"$py" -c 'import socket, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
print(s.getsockname()[1], flush=True); time.sleep(60)' >"$tmp/port.txt" &
holder=$!
pids+=("$holder")
for _ in $(seq 1 50); do [ -s "$tmp/port.txt" ] && break; sleep 0.1; done
busy=$(cat "$tmp/port.txt")
"$DSIM" run "$mm1" --out "$tmp/r4" --dashboard "127.0.0.1:$busy" >/dev/null 2>"$tmp/r4.err"
rc=$?
[ "$rc" -eq 2 ] && grep -q "127.0.0.1:$busy" "$tmp/r4.err" ||
  fail "a port in use: exit $rc, $(cat "$tmp/r4.err")"
kill "$holder" 2>/dev/null
"$DSIM" serve "$tmp/none" --listen 0.0.0.0:0 >/dev/null 2>"$tmp/r3.err"
rc=$?
[ "$rc" -eq 2 ] || fail "dsim serve of a missing directory: exit $rc, want 2"

echo "--- a remote bind needs the token"
# Runs that outlast their checks whatever the machine's speed end with Ctrl-C
# (exit 130, as without a dashboard).
long=(run "$phold" -t 2 --sync conservative --end-time 1000000)
start remote "${long[@]}" --out "$tmp/remote" \
  --dashboard 0.0.0.0:0 --dashboard-remote
token=$(echo "$url" | sed -n 's/.*?token=\([0-9a-f]*\).*/\1/p')
[ "${#token}" -eq 32 ] || fail "remote: the URL carries no generated token: $url"
url=${url/0.0.0.0/127.0.0.1}
code=$(curl -s -o /dev/null -w '%{http_code}' "$(api /api/status)")
[ "$code" = 401 ] || fail "remote: a request without the token got $code, want 401"
code=$(curl -s -o /dev/null -w '%{http_code}' "$(api /)")
[ "$code" = 401 ] || fail "remote: the page without the token got $code, want 401"
code=$(curl -s -o /dev/null -w '%{http_code}' "$(api /api/status 0123456789abcdef0123456789abcdef)")
[ "$code" = 401 ] || fail "remote: a wrong token got $code, want 401"
code=$(curl -s -o /dev/null -w '%{http_code}' "$(api /api/status "$token")")
[ "$code" = 200 ] || fail "remote: ?token= got $code, want 200"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" "$(api /api/status)")
[ "$code" = 200 ] || fail "remote: the bearer token got $code, want 200"
kill -INT "$pid"
finish
[ "$rc" -eq 130 ] || fail "remote: Ctrl-C: exit $rc, want 130: $(head -c 500 "$tmp/remote.err")"

echo "--- /api/status and /api/events during a run (given token on loopback)"
start api "${long[@]}" --out "$tmp/api" \
  --dashboard 127.0.0.1:0 --dashboard-token test-token-for-the-dashboard
[ "$(grep -c 'dashboard at' "$tmp/api.err")" -eq 1 ] || fail "api: the URL is not one line"
code=$(curl -s -o /dev/null -w '%{http_code}' "$(api /api/status)")
[ "$code" = 401 ] || fail "api: without the given token: $code, want 401"
sleep 1
curl -s "$(api /api/status test-token-for-the-dashboard)" >"$tmp/status.json"
timeout 3 curl -sN "$(api /api/events test-token-for-the-dashboard)" >"$tmp/events.txt"
"$py" - "$tmp/status.json" "$tmp/events.txt" <<'EOF' || fail "api: the documents are wrong"
import json, sys
doc = json.load(open(sys.argv[1]))
need = ["state", "now", "end_time", "fraction", "events", "event_rate", "recent_rate",
        "eta_seconds", "blocked_share", "efficiency", "rollbacks", "gvt_rounds", "rss_bytes",
        "peak_rss_bytes", "checkpoints_written", "partitions", "history", "series", "run"]
missing = [k for k in need if k not in doc]
assert not missing, f"missing {missing}"
assert doc["state"] == "running", doc["state"]
assert doc["events"] > 0 and 0 < doc["now"] < doc["end_time"] == 1000000, (doc["events"], doc["now"])
assert len(doc["partitions"]) == 2, doc["partitions"]
assert all(p["busy_seconds"] > 0 for p in doc["partitions"]), doc["partitions"]
assert doc["rss_bytes"] > 0 and doc["peak_rss_bytes"] >= doc["rss_bytes"]
assert doc["run"]["sync"] == "conservative"
lines = [l for l in open(sys.argv[2]) if l.startswith("data: ")]
assert len(lines) >= 3, f"{len(lines)} data: lines in 3 s"
docs = [json.loads(l[6:]) for l in lines]
assert docs[-1]["events"] > docs[0]["events"], "the stream's events do not advance"
assert docs[-1]["version"] > docs[0]["version"]
EOF
# Many viewers at once: 24 event streams, and /api/status still answers.
viewers=()
for i in $(seq 1 24); do
  timeout 4 curl -sN "$(api /api/events test-token-for-the-dashboard)" >"$tmp/viewer$i.txt" &
  viewers+=($!)
done
sleep 1
code=$(curl -s -m 3 -o /dev/null -w '%{http_code}' "$(api /api/status test-token-for-the-dashboard)")
[ "$code" = 200 ] || fail "api: /api/status beside 24 streams got $code"
wait "${viewers[@]}"
served=0
for i in $(seq 1 24); do grep -q '^data: ' "$tmp/viewer$i.txt" && served=$((served + 1)); done
[ "$served" -eq 24 ] || fail "api: $served of 24 simultaneous viewers got an event"
timeout 20 curl -sN "$(api /api/events test-token-for-the-dashboard)" >"$tmp/last.txt" &
follower=$!
sleep 0.5
kill -INT "$pid"
finish
[ "$rc" -eq 130 ] || fail "api: Ctrl-C: exit $rc, want 130"
wait "$follower"
grep '^data: ' "$tmp/last.txt" | tail -1 | grep -q '"state":"stopped"' ||
  fail "api: the last event a viewer got is not the stopped state"
[ ! -e "$tmp/api/results.csv" ] || fail "api: a stopped run wrote results"
curl -s -m 2 "$(api /api/status test-token-for-the-dashboard)" >/dev/null &&
  fail "api: the server still answers after dsim exited"

echo "--- under mpirun, rank 0 serves the whole job's view"
if [ "${DSIM_WITH_MPI:-0}" = 1 ] && command -v mpirun >/dev/null; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  # OpenMPI keeps allocations until exit (tests/scripts/lib/mpi.bash): no
  # leak checking for these runs under AddressSanitizer.
  saved_asan=${ASAN_OPTIONS-}
  export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
  DSIM_REAL=$DSIM
  DSIM="mpirun"
  # 1,000,000 people (100,000 under the sanitizers: DSIM_TEST_SCALE=0.1).
  people=$(awk -v s="${DSIM_TEST_SCALE:-1}" 'BEGIN { printf "%d", 1000000 * (s < 1 ? s : 1) }')
  start mpi --oversubscribe --bind-to none --mca btl_vader_single_copy_mechanism none -np 2 \
    "$DSIM_REAL" run "$epidemic" -t 2 --sync conservative --out "$tmp/mpi" -q \
    --set "entities.people.count=$people" --dashboard 127.0.0.1:0
  DSIM=$DSIM_REAL
  # While the run goes on: all 4 partitions (2 on each rank) advance, and
  # the series (summed over both ranks) grow. The limit is generous (a
  # sanitizer build on a loaded machine: 4 threads on 2 cores); a view that
  # stops advancing still fails, and so does a run that ends first.
  "$py" - "$(api /api/status)" "$((150 * factor))" >"$tmp/mpi.txt" 2>&1 <<'EOF' ||
import json, sys, time, urllib.request
url, limit = sys.argv[1], float(sys.argv[2])
deadline = time.time() + limit
views, d = [], None
while time.time() < deadline:
    try:
        d = json.load(urllib.request.urlopen(url, timeout=2))
    except OSError:
        time.sleep(0.2)
        continue
    assert d["run"]["ranks"] == 2 and d["run"]["note"], d["run"]
    if d["state"] == "starting":
        time.sleep(0.2)
        continue
    if d["state"] != "running":
        break
    parts = d["partitions"]
    samples = [len(s["values"]) for s in d["series"]]
    if len(parts) == 4 and all(p["events"] > 0 for p in parts) and samples and min(samples) > 0:
        views.append((d["events"], min(samples)))
        if len(views) >= 2 and views[-1][0] > views[0][0] and views[-1][1] > views[0][1]:
            print("whole job seen:", views[0], views[-1])
            sys.exit(0)
    time.sleep(0.3)
print("views:", views, "last:", json.dumps(d)[:1500])
sys.exit(1)
EOF
    fail "mpi: no advancing whole-job view while running: $(tail -c 1500 "$tmp/mpi.txt")"
  finish
  [ "$rc" -eq 0 ] || fail "mpi: exit $rc: $(head -c 500 "$tmp/mpi.err")"
  [ "$(grep -c 'dashboard at' "$tmp/mpi.err")" -eq 1 ] || fail "mpi: not one URL line"
  export ASAN_OPTIONS=$saved_asan
else
  echo "skipped: no MPI"
fi

echo "--- a viewer that stops reading does not slow the run"
# Connects to /api/events with a tiny receive buffer and never reads: the
# server's writes to it block until its write timeout drops it.
cat >"$tmp/stall.py" <<'EOF'
import socket, sys, time
host, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
conns = []
for _ in range(3):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
    s.connect((host, port))
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
    conns.append(s)
time.sleep(float(sys.argv[4]))
EOF
run_args=(run "$epidemic" -t 2 --sync conservative)
loop() { "$py" -c "import json,sys; print(json.load(open(sys.argv[1]))['run']['run_seconds'])" "$1/manifest.json"; }
# Twice each, alternating (the machine may be busy with other tests): the
# best event loop and the best whole run (start to exit) of each.
times=()
for round in 1 2; do
  t0=$(date +%s.%N)
  "$DSIM" "${run_args[@]}" --out "$tmp/plain" -q
  t1=$(date +%s.%N)
  start stalled "${run_args[@]}" --out "$tmp/stalled" -q --dashboard 127.0.0.1:0
  port=$(echo "$url" | sed -n 's#http://127.0.0.1:\([0-9]*\)/.*#\1#p')
  "$py" "$tmp/stall.py" 127.0.0.1 "$port" /api/events 120 &
  stall=$!
  pids+=("$stall")
  sleep 0.5
  code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' "$(api /api/status)")
  [ "$code" = 200 ] || fail "stalled: /api/status did not answer beside stalled viewers ($code)"
  finish
  t2=$(date +%s.%N)
  kill "$stall" 2>/dev/null
  [ "$rc" -eq 0 ] || fail "stalled: the run exited $rc: $(head -c 500 "$tmp/stalled.err")"
  diff -r -x manifest.json "$tmp/plain" "$tmp/stalled" >/dev/null ||
    fail "stalled: results differ from the run without a dashboard"
  times+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" "$(loop "$tmp/plain")"
          "$(awk -v b="$t1" -v c="$t2" 'BEGIN { print c - b }')" "$(loop "$tmp/stalled")")
done
awk -v t="${times[*]}" 'BEGIN {
  split(t, v, " ")
  pw = v[1] < v[5] ? v[1] : v[5]; pl = v[2] < v[6] ? v[2] : v[6]
  sw = v[3] < v[7] ? v[3] : v[7]; sl = v[4] < v[8] ? v[4] : v[8]
  printf "best of 2: without the dashboard %.2f s (event loop %.2f s), with it and 3 stalled viewers %.2f s (%.2f s)\n", pw, pl, sw, sl
  exit !(sl < 2 * pl + 1 && sw < 2 * pw + 3)
}' || fail "stalled: the run with stalled viewers took far longer than without"

echo "--- the page in Chromium during a run"
node=$(command -v node || true)
harness=$DSIM_SOURCE_DIR/tests/browser/check_page.mjs
if [ -z "$node" ] || [ ! -x "${DSIM_CHROMIUM:-/usr/bin/chromium}" ] ||
   [ ! -d "$DSIM_SOURCE_DIR/web/node_modules/playwright-core" ] || [ ! -f "$harness" ]; then
  echo "skipped the browser checks: node, Chromium or web/node_modules/playwright-core missing"
else
  # 3 M people: seconds of init and of events, whatever the machine, for
  # Chromium to start and see the run going (1.2 GB of memory).
  start browser "${run_args[@]}" --set entities.people.count=3000000 --out "$tmp/browser" -q \
    --dashboard 127.0.0.1:0
  # Values read twice (the first drawn state, then more events and a later
  # simulated time); then the final document; then 4 s more, by which
  # time dsim has exited: the page must still show everything.
  wait_expr='(() => { const d = window.dsimDashboard;
    if (!d || d.drawn < d.charts || d.charts < 11) return false;
    if (!window.firstRead) window.firstRead = { events: d.events, now: d.now, state: d.state };
    if (!window.secondRead && d.events > window.firstRead.events && d.now > window.firstRead.now)
      window.secondRead = { events: d.events, now: d.now };
    return !!window.secondRead && d.final && performance.now() - d.finalAt > '"$((4000 * factor))"'; })()'
  eval_expr='({ first: window.firstRead, second: window.secondRead,
    charts: window.dsimDashboard.charts, drawn: window.dsimDashboard.drawn,
    canvases: document.querySelectorAll(".chart canvas").length,
    status: document.getElementById("status").textContent,
    connection: window.dsimDashboard.connection,
    events_text: document.querySelector(".tile .value").textContent,
    series_charts: document.querySelectorAll("#series-charts .chart").length })'
  "$node" "$harness" --url "$url" --wait "$wait_expr" --eval "$eval_expr" --timeout $((60000 * factor)) \
    --screenshot "$shots/run_finished.png" >"$tmp/browser.json" 2>"$tmp/browser.log"
  brc=$?
  kill -0 "$pid" 2>/dev/null && fail "browser: dsim had not exited $((4 * factor)) s after its final document"
  finish
  [ "$rc" -eq 0 ] || fail "browser: the run exited $rc"
  [ "$brc" -eq 0 ] || fail "browser: check_page failed: $(head -c 1500 "$tmp/browser.json") $(head -c 500 "$tmp/browser.log")"
  "$py" - "$tmp/browser.json" <<'EOF' || fail "browser: $(head -c 1500 "$tmp/browser.json")"
import json, sys
r = json.load(open(sys.argv[1]))["eval"]
assert r["first"] and r["second"], r
assert r["second"]["events"] > r["first"]["events"] and r["second"]["now"] > r["first"]["now"], r
assert r["first"]["state"] == "running", r["first"]
assert r["charts"] == r["drawn"] and r["charts"] >= 11, r
assert r["canvases"] >= r["charts"], r
assert r["series_charts"] == 5, r
assert r["status"] == "run finished", r["status"]
assert r["connection"] == "finished", r["connection"]
assert r["events_text"] not in ("", "–"), r["events_text"]
EOF
  [ -s "$shots/run_finished.png" ] || fail "browser: no screenshot"

  echo "--- dsim serve of the finished result"
  start serve serve "$tmp/browser" --listen 127.0.0.1:0
  curl -s "$(api /api/status)" >"$tmp/serve.json"
  "$py" - "$tmp/serve.json" <<'EOF' || fail "serve: $(head -c 800 "$tmp/serve.json")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["state"] == "finished" and d["final"], d["state"]
assert d["fraction"] == 1 and d["events"] > 0
assert len(d["series"]) == 5 and len(d["series"][0]["times"]) == 200, len(d["series"])
assert len(d["partitions"]) == 2
EOF
  curl -s "$(api /)" >"$tmp/page.html"
  grep -q "uPlot" "$tmp/page.html" || fail "serve: the page does not hold uPlot"
  timeout 3 curl -sN "$(api /api/events)" >"$tmp/serve-events.txt"
  grep -q '^data: ' "$tmp/serve-events.txt" || fail "serve: no event"
  "$node" "$harness" --url "$url" \
    --wait 'window.dsimDashboard && window.dsimDashboard.final && window.dsimDashboard.charts >= 11 && window.dsimDashboard.drawn === window.dsimDashboard.charts' \
    --eval '({ status: document.getElementById("status").textContent, charts: window.dsimDashboard.charts })' \
    --timeout $((30000 * factor)) --screenshot "$shots/serve.png" >"$tmp/serve-browser.json" 2>&1 ||
    fail "serve: check_page failed: $(head -c 1500 "$tmp/serve-browser.json")"
  kill -INT "$pid"
  for _ in $(seq 1 $((50 * factor))); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && fail "serve: still running $((5 * factor)) s after Ctrl-C"
  finish
  [ "$rc" -eq 0 ] || fail "serve: exit $rc after Ctrl-C"

  echo "--- names that are markup stay text"
  "$py" "$DSIM_SOURCE_DIR/tests/browser/make_results.py" "$tmp/markup" --series 2 \
    --group '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>' >/dev/null ||
    fail "markup: make_results.py failed"
  start markup serve "$tmp/markup" "$tmp/browser" --listen 127.0.0.1:0
  "$node" "$harness" --url "$url" \
    --wait 'window.dsimDashboard && window.dsimDashboard.final && window.dsimDashboard.drawn === window.dsimDashboard.charts' \
    --eval '({ pwned: window.pwned || 0, images: document.querySelectorAll("img").length,
      scripts: document.querySelectorAll("script").length,
      title: document.querySelector("#series-charts h3").textContent,
      runs: document.querySelectorAll("#runs a").length })' \
    --timeout $((30000 * factor)) --screenshot "$shots/markup.png" >"$tmp/markup.json" 2>&1 ||
    fail "markup: check_page failed: $(head -c 1500 "$tmp/markup.json")"
  "$py" - "$tmp/markup.json" <<'EOF' || fail "markup: $(head -c 1500 "$tmp/markup.json")"
import json, sys
r = json.load(open(sys.argv[1]))["eval"]
assert r["pwned"] == 0 and r["images"] == 0 and r["scripts"] == 1, r
assert r["title"].startswith('<img src=x onerror="window.pwned=1">'), r["title"]
assert r["runs"] == 2, r
EOF
  kill -INT "$pid"
  finish
  [ "$rc" -eq 0 ] || fail "markup: serve exit $rc after Ctrl-C"
fi

echo "$failures failures"
[ "$failures" -eq 0 ]
