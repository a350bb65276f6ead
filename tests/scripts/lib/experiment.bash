# Shared by the experiment tests (experiment.sh, mpi_experiment.sh).
# same_experiment REF DIR WHAT: DIR's result files are REF's, byte for byte,
# and its manifest.json but for the timing; a difference goes to `fail`.
same_experiment() {
  checks=$((${checks:-0} + 1))
  local f
  for f in runs.csv summary.csv runs.json summary.json; do
    cmp -s "$1/$f" "$2/$f" || { fail "$3: $2/$f differs from $1/$f"; return; }
  done
  /usr/bin/python3 - "$1/manifest.json" "$2/manifest.json" <<'PYEOF' || fail "$3: manifest.json differs"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
for m in (a, b):
    m.pop("timing")
sys.exit(a != b)
PYEOF
}
