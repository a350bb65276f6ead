#!/usr/bin/env bash
# dsim report as a user meets it: reports of one and of several result
# directories (models with series, a hand-made one with histograms and group
# names full of markup), opened in headless Chromium (tests/browser/
# check_page.mjs): every chart drawn, no console error, no request but the
# file itself, names shown as text and never run; --svg writes parseable SVG
# files; bad input exits 2 naming the path and leaves nothing behind.
# Screenshots go to $DSIM_BUILD_DIR/test-output/report/.
# Env (set by CTest): DSIM (the program), DSIM_SOURCE_DIR, DSIM_BUILD_DIR.
# Needs node, web/node_modules and /usr/bin/chromium (scripts/setup.sh
# installs them): without them the browser checks are skipped (exit 77 at the
# end), except under CI=true, where that is a failure.
set -uo pipefail
: "${DSIM:?}" "${DSIM_SOURCE_DIR:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
py=/usr/bin/python3
shots=${DSIM_BUILD_DIR:-$tmp}/test-output/report
mkdir -p "$shots"
failures=0

fail() {
  echo "report.sh: FAIL: $*" >&2
  failures=$((failures + 1))
}
# run NAME ARGS...: runs dsim with stdout/stderr in $tmp/NAME.{out,err}, sets $rc.
run() {
  local name=$1
  shift
  "$DSIM" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" </dev/null
  rc=$?
}
expect_rc() {  # expect_rc WANT NAME
  [ "$rc" -eq "$1" ] || fail "$2: exit $rc, want $1; stderr: $(head -c 500 "$tmp/$2.err")"
}
expect_one_line_error() {  # expect_one_line_error NAME TEXT (fixed string)
  local err=$tmp/$1.err
  [ "$(wc -l <"$err")" -eq 1 ] || fail "$1: stderr is not one line: $(cat "$err")"
  grep -q '^dsim: ' "$err" || fail "$1: stderr does not start with 'dsim: ': $(cat "$err")"
  grep -qF -- "$2" "$err" || fail "$1: stderr does not name '$2': $(cat "$err")"
}
no_leftovers() {  # no_leftovers NAME DIR: no temporary file left in DIR
  local left
  left=$(find "$2" -maxdepth 1 -name '*.tmp-*' | head -3)
  [ -z "$left" ] || fail "$1: temporary files left: $left"
}

browser=1
chromium=${DSIM_CHROMIUM:-/usr/bin/chromium}
if ! command -v node >/dev/null || [ ! -x "$chromium" ] ||
  [ ! -d "$DSIM_SOURCE_DIR/web/node_modules/playwright-core" ]; then
  if [ "${CI:-}" = true ]; then
    fail "no browser: node, $chromium or web/node_modules/playwright-core missing (scripts/setup.sh installs them)"
  else
    echo "report.sh: no node, $chromium or web/node_modules/playwright-core: browser checks skipped"
  fi
  browser=0
fi

echo "--- result directories"
run epi run "$DSIM_SOURCE_DIR/models/epidemic/epidemic.toml" --out "$tmp/epidemic" -q
expect_rc 0 epi
run mm1 run "$DSIM_SOURCE_DIR/models/queueing/mm1.toml" --out "$tmp/mm1" -q \
  --set simulation.end_time=20000 --set output.sample_interval=500
expect_rc 0 mm1
run mm1_seed2 run "$DSIM_SOURCE_DIR/models/queueing/mm1.toml" --out "$tmp/mm1-seed2" -q \
  --set simulation.end_time=20000 --set output.sample_interval=500 --seed 2
expect_rc 0 mm1_seed2
# A name no config allows: markup in the directory (the legend's name), the
# group and the config text. Hand-made, with histograms (no model has one).
evil_group='<script>window.__pwned=2</script>'
evil_dir="$tmp/evil<img src=x onerror=window.__pwned=1>"
"$py" "$DSIM_SOURCE_DIR/tests/browser/make_results.py" "$evil_dir" --series 2 --points 50 \
  --histograms 2 --group "$evil_group" || fail "make_results.py failed"

echo "--- dsim report"
run one report "$tmp/epidemic" -o "$tmp/one.html"
expect_rc 0 one
[ -s "$tmp/one.html" ] || fail "one: no report written"
run two report "$tmp/epidemic" "$tmp/mm1" "$evil_dir" -o "$tmp/two.html" --svg "$tmp/svg"
expect_rc 0 two
[ -s "$tmp/two.html" ] || fail "two: no report written"
no_leftovers two "$tmp"
run overlay report "$tmp/mm1" "$tmp/mm1-seed2" -o "$tmp/overlay.html"
expect_rc 0 overlay
no_leftovers two "$tmp/svg"
grep -qF '<script>window.__pwned' "$tmp/two.html" && fail "two: a group name is in the page as markup"
grep -Eq '(src|href)="https?:' "$tmp/two.html" && fail "two: the page links to the network"

# The charts each report should hold: every series and histogram, once per
# group.stat across its directories.
charts_of() {
  "$py" - "$@" <<'EOF'
import csv, os, sys
keys = set()
for d in sys.argv[1:]:
    if os.path.exists(os.path.join(d, "series.csv")):
        for row in csv.DictReader(open(os.path.join(d, "series.csv"), newline="")):
            keys.add(("s", row["group"], row["stat"]))
    for row in csv.DictReader(open(os.path.join(d, "results.csv"), newline="")):
        if row["kind"] == "histogram":
            keys.add(("h", row["group"], row["stat"]))
print(len(keys))
EOF
}
one_charts=$(charts_of "$tmp/epidemic")
two_charts=$(charts_of "$tmp/epidemic" "$tmp/mm1" "$evil_dir")
overlay_charts=$(charts_of "$tmp/mm1")
[ "$one_charts" -ge 5 ] || fail "the epidemic has $one_charts series, want 5 or more"

echo "--- --svg"
svgs=$(find "$tmp/svg" -name '*.svg' | wc -l)
[ "$svgs" -eq "$two_charts" ] || fail "--svg wrote $svgs files, want $two_charts"
"$py" - "$tmp/svg" <<'EOF' || fail "--svg: an SVG file does not parse"
import pathlib, sys, xml.etree.ElementTree as ET
for f in sorted(pathlib.Path(sys.argv[1]).glob("*.svg")):
    root = ET.parse(f).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg", f
    assert root.find("{http://www.w3.org/2000/svg}title") is not None, f
EOF
ls "$tmp/svg" | grep -q '^_script_window.__pwned_2__script_.h0.svg$' ||
  fail "--svg: no safe file name for the hand-made histogram: $(ls "$tmp/svg" | head)"

if [ "$browser" = 1 ]; then
  echo "--- in Chromium"
  # Every chart's canvas painted, nothing run from the data, names shown as text.
  read -r -d '' checks <<'EOF'
(() => {
  const canvases = [...document.querySelectorAll('.chart canvas')];
  const painted = canvases.filter((c) => {
    if (!c.width || !c.height) return false;
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    for (let i = 3; i < d.length; i += 4) if (d[i]) return true;
    return false;
  }).length;
  return {
    charts: document.querySelectorAll('.chart').length,
    canvases: canvases.length,
    painted: painted,
    drawn: window.dsimReport.drawn,
    legend_entries: document.querySelectorAll('.chart .u-legend .u-series').length,
    // Each section's tables (one per directory) stand side by side.
    side_by_side: [...document.querySelectorAll('.side')].every((side) =>
      [...side.children].every((t) => t.offsetTop === side.children[0].offsetTop)),
    pwned: window.__pwned === undefined ? null : window.__pwned,
    name_as_text: document.body.innerText.includes('<script>window.__pwned=2</script>'),
    legend_as_text: document.body.innerText.includes('onerror=window.__pwned=1>'),
    draw_ms: window.dsimReport.drawMs,
  };
})()
EOF
  # REPORT CHARTS LINES_PER_CHART (the directories are overlaid in one chart
  # only where they share a statistic).
  for spec in "one $one_charts 1" "two $two_charts 1" "overlay $overlay_charts 2"; do
    read -r report want lines <<<"$spec"
    url=$("$py" -c 'import pathlib, sys; print(pathlib.Path(sys.argv[1]).as_uri())' "$tmp/$report.html")
    node "$DSIM_SOURCE_DIR/tests/browser/check_page.mjs" --url "$url" \
      --wait 'window.dsimReport && window.dsimReport.ready' --eval "$checks" \
      --screenshot "$shots/$report.png" >"$tmp/$report.json" 2>"$tmp/$report.browser.err"
    browser_rc=$?
    [ "$browser_rc" -le 1 ] || { fail "$report: the harness failed: $(cat "$tmp/$report.browser.err")"; continue; }
    "$py" - "$tmp/$report.json" "$want" "$report" "$lines" <<'EOF' || fail "$report: see above"
import json, sys
r = json.load(open(sys.argv[1]))
want, name, lines = int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
problems = []
if not r["ok"]: problems.append("not ok")
if r["console_errors"]: problems.append(f"console errors: {r['console_errors']}")
if r["page_errors"]: problems.append(f"page errors: {r['page_errors']}")
if r["requests"] != [r["url"]]: problems.append(f"requests besides the file: {r['requests']}")
e = r["eval"] or {}
for key in ("charts", "canvases", "painted", "drawn"):
    if e.get(key) != want: problems.append(f"{key}: {e.get(key)}, want {want}")
if e.get("legend_entries") != want * (1 + lines):  # x, then a line per directory
    problems.append(f"legend entries: {e.get('legend_entries')}, want {want * (1 + lines)}")
if not e.get("side_by_side"): problems.append("the directories' tables are not side by side")
if e.get("pwned") is not None: problems.append(f"text from the results ran: {e.get('pwned')}")
if name == "two" and not e.get("name_as_text"): problems.append("the group name is not shown as text")
if name == "two" and not e.get("legend_as_text"): problems.append("the directory name is not shown as text")
for p in problems: print(f"report.sh: {name}: {p}", file=sys.stderr)
print(f"{name}: {e.get('charts')} charts drawn in {e.get('draw_ms', 0):.0f} ms, screenshot {r['screenshot']}")
sys.exit(1 if problems else 0)
EOF
  done
fi

if [ "$browser" = 1 ]; then
  # An SVG file opens on its own in the browser (a screenshot to look at).
  svg=$(find "$tmp/svg" -name 'people.infected.svg')
  url=$("$py" -c 'import pathlib, sys; print(pathlib.Path(sys.argv[1]).as_uri())' "$svg")
  node "$DSIM_SOURCE_DIR/tests/browser/check_page.mjs" --url "$url" --width 740 --height 420 \
    --eval 'document.querySelectorAll("path").length' --screenshot "$shots/svg.png" \
    >"$tmp/svg.json" 2>&1 || fail "svg in Chromium: $(cat "$tmp/svg.json")"
fi

echo "--- bad input"
mkdir -p "$tmp/empty" "$tmp/out"
run not_results report "$tmp/empty" -o "$tmp/out/r.html"
expect_rc 2 not_results
expect_one_line_error not_results "$tmp/empty"
run missing report "$tmp/no-such-dir" -o "$tmp/out/r.html"
expect_rc 2 missing
expect_one_line_error missing "$tmp/no-such-dir"
cp -r "$tmp/mm1" "$tmp/broken"
echo '{"run": ' >"$tmp/broken/manifest.json"
run broken report "$tmp/broken" -o "$tmp/out/r.html"
expect_rc 2 broken
expect_one_line_error broken "$tmp/broken/manifest.json"
run no_dir report "$tmp/mm1" -o "$tmp/no-such-dir/r.html"
expect_rc 2 no_dir
expect_one_line_error no_dir "$tmp/no-such-dir/r.html"
run is_dir report "$tmp/mm1" -o "$tmp/out"
expect_rc 2 is_dir
expect_one_line_error is_dir "$tmp/out"
if [ "$(id -u)" -ne 0 ]; then  # root writes anywhere
  mkdir -p "$tmp/ro" && chmod a-w "$tmp/ro"
  run read_only report "$tmp/mm1" -o "$tmp/ro/r.html"
  expect_rc 2 read_only
  expect_one_line_error read_only "$tmp/ro/r.html"
fi
# A special file is refused, not replaced (as root, renaming over /dev/null
# would replace the device).
mkfifo "$tmp/fifo"
run fifo report "$tmp/mm1" -o "$tmp/fifo"
expect_rc 2 fifo
expect_one_line_error fifo "$tmp/fifo"
[ -p "$tmp/fifo" ] || fail "fifo: the named pipe was replaced"
no_leftovers fifo "$tmp"
touch "$tmp/out/file"
run svg_file report "$tmp/mm1" -o "$tmp/out/r.html" --svg "$tmp/out/file"
expect_rc 2 svg_file
expect_one_line_error svg_file "$tmp/out/file"
run no_o report "$tmp/mm1"
expect_rc 2 no_o
[ -z "$(ls -A "$tmp/out" | grep -v '^file$')" ] || fail "bad input left files: $(ls -A "$tmp/out")"

if [ "$failures" -ne 0 ]; then
  echo "report.sh: $failures failure(s)" >&2
  exit 1
fi
if [ "$browser" = 0 ]; then
  echo "report.sh: passed without the browser checks"
  exit 77
fi
echo "report.sh: all passed"
