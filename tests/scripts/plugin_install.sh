#!/usr/bin/env bash
# Install dsim into a fresh prefix, check what it holds (the reference models'
# library, libdsim's exports), build examples/plugin_model against it with
# find_package(dsim) as an outside project would, and run the installed dsim
# with the plugin: named in the config, named with --plugin, and both.
# Env (set by CTest): DSIM_SOURCE_DIR, DSIM_BUILD_DIR, optionally CMAKE_COMMAND.
set -euo pipefail
: "${DSIM_SOURCE_DIR:?}" "${DSIM_BUILD_DIR:?}"
cmake=${CMAKE_COMMAND:-cmake}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() {
  echo "plugin_install.sh: FAIL: $*" >&2
  exit 1
}
# value GROUP STAT FIELD FILE: the value column of one results.csv row.
value() { awk -F, -v g="$1" -v s="$2" -v f="$3" '$1 == g && $2 == s && $4 == f { print $5 }' "$4"; }

echo "--- install into $tmp/prefix"
"$cmake" --install "$DSIM_BUILD_DIR" --prefix "$tmp/prefix" >"$tmp/install.log" ||
  { cat "$tmp/install.log"; fail "cmake --install"; }
dsim=$tmp/prefix/bin/dsim
[ -x "$dsim" ] || fail "no bin/dsim in the prefix"
ls "$tmp"/prefix/lib*/cmake/dsim/dsimConfig.cmake >/dev/null || fail "no dsimConfig.cmake"
[ -f "$tmp/prefix/include/dsim/dsim.hpp" ] || fail "no include/dsim/dsim.hpp"
[ -f "$tmp/prefix/include/dsim/reference_models.hpp" ] || fail "no include/dsim/reference_models.hpp"

echo "--- the installed program has the reference models (libdsim_models)"
"$dsim" list >"$tmp/list-all.txt" || fail "dsim list"
for type in phold epidemic source queue sink; do
  grep -qw "$type" "$tmp/list-all.txt" || fail "dsim list does not show '$type'"
done

echo "--- libdsim exports its public API, not the engine's internals"
if command -v nm >/dev/null && command -v c++filt >/dev/null; then
  lib=$(ls "$tmp"/prefix/lib*/libdsim.so | head -n 1)
  nm -D --defined-only "$lib" | c++filt >"$tmp/exports.txt"
  grep -q 'dsim::Registry::add_type' "$tmp/exports.txt" || fail "libdsim does not export Registry"
  # Symbols of dsim::detail itself (a public signature may mention one).
  internal=$(grep -E ' [A-Za-z] ((typeinfo|typeinfo name|vtable) for )?dsim::detail::' \
    "$tmp/exports.txt" || true)
  [ -z "$internal" ] || fail "libdsim exports internals: $(head -n 5 <<<"$internal")"
else
  echo "(no nm: skipped)"
fi

echo "--- build the example against the prefix"
cp -r "$DSIM_SOURCE_DIR/examples/plugin_model" "$tmp/src"
rm -rf "$tmp/src/build" "$tmp/src/results"  # a developer's own build, if any
generator=()
if command -v ninja >/dev/null; then generator=(-G Ninja); fi
# With hidden symbols, as many projects build: DSIM_PLUGIN exports its entry
# points all the same.
"$cmake" -S "$tmp/src" -B "$tmp/src/build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$tmp/prefix" -DCMAKE_CXX_VISIBILITY_PRESET=hidden \
  -DCMAKE_VISIBILITY_INLINES_HIDDEN=ON >"$tmp/configure.log" ||
  { cat "$tmp/configure.log"; fail "configuring the example"; }
"$cmake" --build "$tmp/src/build" >"$tmp/build.log" ||
  { cat "$tmp/build.log"; fail "building the example"; }
plugin=$tmp/src/build/libmymodel.so
[ -f "$plugin" ] || fail "no $plugin"

echo "--- list the plugin's type"
"$dsim" list gossip --plugin "$plugin" >"$tmp/list.txt" || fail "dsim list gossip"
for word in gossip loss_of_interest period latency seeds; do
  grep -q "$word" "$tmp/list.txt" || fail "dsim list gossip does not show '$word'"
done

echo "--- run with the plugin named in the config"
grep -q '^plugins *= *\["build/libmymodel.so"\]' "$tmp/src/model.toml" ||
  fail "model.toml does not name build/libmymodel.so"
# From another directory: the config's plugin path is relative to the config.
(cd / && "$dsim" run "$tmp/src/model.toml" --out "$tmp/out-config" --quiet) ||
  fail "run with plugins = [...] in the config"

echo "--- run with --plugin"
sed '/^plugins *=/d' "$tmp/src/model.toml" >"$tmp/src/no_plugins.toml"
set +e
"$dsim" validate "$tmp/src/no_plugins.toml" >/dev/null 2>"$tmp/err.txt"
rc=$?
set -e
[ "$rc" -eq 2 ] || fail "validate without the plugin: exit $rc, want 2"
grep -q gossip "$tmp/err.txt" || fail "the error does not name the unknown type: $(cat "$tmp/err.txt")"
"$dsim" run "$tmp/src/no_plugins.toml" --plugin "$plugin" --out "$tmp/out-flag" --quiet ||
  fail "run with --plugin"

echo "--- run with both (the library is loaded once)"
"$dsim" run "$tmp/src/model.toml" --plugin "$plugin" --out "$tmp/out-both" --quiet ||
  fail "run with the plugin in the config and on the command line"

echo "--- check the model's statistics"
csv=$tmp/out-config/results.csv
for row in "pushes,counter,total" "redundant,counter,total" "informed_at,tally,count" \
  "informed,gauge,final" "spreading,gauge,final"; do
  IFS=, read -r stat kind field <<<"$row"
  grep -q "^nodes,$stat,$kind,$field," "$csv" || fail "results.csv has no nodes,$stat,$kind,$field"
done
informed=$(value nodes informed final "$csv")
learned=$(value nodes informed_at count "$csv")
pushes=$(value nodes pushes total "$csv")
echo "informed $informed of 2000, pushes $pushes"
# The rumour spreads well beyond its one seed, and the informed count agrees
# with the number of nodes that recorded when they learned it.
awk -v i="$informed" 'BEGIN { exit !(i > 100 && i <= 2000) }' || fail "informed = $informed"
awk -v i="$informed" -v l="$learned" 'BEGIN { exit !(i == l) }' ||
  fail "informed ($informed) != informed_at count ($learned)"
awk -v p="$pushes" -v i="$informed" 'BEGIN { exit !(p >= i - 1) }' ||
  fail "$pushes pushes cannot inform $informed nodes"
[ -s "$tmp/out-config/series.csv" ] || fail "no series.csv"

cmp "$csv" "$tmp/out-flag/results.csv" || fail "results differ between config and --plugin runs"
cmp "$csv" "$tmp/out-both/results.csv" || fail "results differ when the plugin is named twice"
echo "plugin_install.sh: ok"
