#!/usr/bin/env bash
# Bad configs through the dsim program: `dsim validate` and `dsim run` must
# exit with status 2, print exactly one line on stderr that names the config
# file, and leave no result directory behind.
set -u

if [[ -z "${DSIM:-}" ]]; then
  echo "bad_configs.sh: DSIM is not set (path to the dsim program); skipping"
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0

# write NAME TEXT: creates $work/NAME.toml
write() { printf '%s\n' "$2" >"$work/$1.toml"; }

good_head='[simulation]
end_time = 10.0'

write syntax "$good_head
[[entities]]
name = \"p\"
type = = \"phold\""

write unknown_key "$good_head
edn_time = 5.0
[[entities]]
name = \"p\"
type = \"phold\""

write negative_count "$good_head
[[entities]]
name = \"p\"
type = \"phold\"
count = -3"

write unknown_type "$good_head
[[entities]]
name = \"p\"
type = \"phlod\""

write unknown_param "$good_head
[[entities]]
name = \"p\"
type = \"phold\"
params = { remot = 0.5 }"

write wrong_param_type "$good_head
[[entities]]
name = \"p\"
type = \"phold\"
params = { remote = \"lots\" }"

write bad_distribution "$good_head
[[entities]]
name = \"src\"
type = \"source\"
params = { interarrival = \"exp(mean=-1)\" }
[[entities]]
name = \"snk\"
type = \"sink\"
[[links]]
from = \"src\"
to = \"snk\""

write unknown_link_group "$good_head
[[entities]]
name = \"p\"
type = \"phold\"
[[links]]
from = \"p\"
to = \"q\"
topology = \"any\""

write end_time_zero '[simulation]
end_time = 0
[[entities]]
name = "p"
type = "phold"'

write missing_edge_file "$good_head
[[entities]]
name = \"p\"
type = \"phold\"
count = 4
[[links]]
from = \"p\"
to = \"p\"
topology = \"edge_list\"
file = \"no_such_edges.csv\""

write unknown_state_saving "$good_head
sync = \"optimistic\"
state_saving = \"sometimes\"
[[entities]]
name = \"p\"
type = \"phold\""

write state_saving_period_zero "$good_head
state_saving = \"periodic\"
state_saving_period = 0
[[entities]]
name = \"p\"
type = \"phold\""

write state_saving_period_string "$good_head
state_saving_period = \"often\"
[[entities]]
name = \"p\"
type = \"phold\""

# Conservative sync on two threads with a zero-lookahead link that the
# partitioning cuts: refused before anything runs, naming the link.
write zero_lookahead_cut '[simulation]
end_time = 10.0
sync = "conservative"
threads = 2
[[entities]]
name = "p"
type = "phold"
count = 8
params = { lookahead = 0.0 }
[[links]]
from = "p"
to = "p"
topology = "any"
lookahead = 0.0'

# check DESCRIPTION FILE -- COMMAND...: runs COMMAND, expects exit 2 and one
# stderr line naming FILE.
check() {
  local what=$1 file=$2
  shift 3
  local err="$work/stderr"
  "$@" >/dev/null 2>"$err"
  local rc=$?
  local lines
  lines=$(wc -l <"$err")
  local fail=""
  [[ $rc -eq 2 ]] || fail+=" exit status $rc (expected 2);"
  [[ $lines -eq 1 ]] || fail+=" $lines lines on stderr (expected 1);"
  grep -qF "$(basename "$file")" "$err" || fail+=" stderr does not name $(basename "$file");"
  if [[ -n $fail ]]; then
    echo "FAIL $what:$fail"
    sed 's/^/    stderr: /' "$err"
    failures=$((failures + 1))
  else
    echo "ok   $what: $(cat "$err")"
  fi
}

for file in "$work"/*.toml; do
  name=$(basename "$file" .toml)
  check "validate $name" "$file" -- "$DSIM" validate "$file"
  out="$work/results_$name"
  check "run $name" "$file" -- "$DSIM" run "$file" --out "$out" --quiet
  if [[ $name == zero_lookahead_cut ]] && ! grep -q 'links\[0\] (p -> p) has lookahead 0' "$work/stderr"; then
    echo "FAIL run $name: the message does not name links[0]"
    failures=$((failures + 1))
  fi
  if [[ -e $out ]]; then
    echo "FAIL run $name: result directory $out was created"
    failures=$((failures + 1))
  fi
done

# A bad --set on a good config is bad input too.
write good "$good_head
[[entities]]
name = \"p\"
type = \"phold\"
count = 4
[[links]]
from = \"p\"
to = \"p\"
topology = \"any\"
lookahead = 1.0"
check "validate --set unknown group" "$work/good.toml" -- \
  "$DSIM" validate "$work/good.toml" --set entities.nope.count=1
check "run --set bad value" "$work/good.toml" -- \
  "$DSIM" run "$work/good.toml" --out "$work/results_set" --quiet --set simulation.end_time=-1
check "run --set bad state saving" "$work/good.toml" -- \
  "$DSIM" run "$work/good.toml" --out "$work/results_set" --quiet \
  --set simulation.state_saving=every_other
check "run --set bad state saving period" "$work/good.toml" -- \
  "$DSIM" run "$work/good.toml" --out "$work/results_set" --quiet \
  --set simulation.state_saving_period=-1
if [[ -e $work/results_set ]]; then
  echo "FAIL run --set: result directory was created"
  failures=$((failures + 1))
fi
# The good config itself passes (so the failures above are about the mistakes).
if ! "$DSIM" validate "$work/good.toml" >/dev/null 2>"$work/stderr"; then
  echo "FAIL the good config does not validate:"
  cat "$work/stderr"
  failures=$((failures + 1))
fi

if [[ $failures -ne 0 ]]; then
  echo "$failures failure(s)"
  exit 1
fi
echo "all bad configs rejected cleanly"
