// Experiment files and command-line factors: load_experiment, parse_vary,
// parse_precision (include/dsim/experiment.hpp). Every mistake is one
// dsim::Error naming the file (or flag) and the key.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <set>
#include <string>
#include <string_view>
#include <toml++/toml.h>

#include "dsim/experiment.hpp"
#include "dsim/types.hpp"
#include "experiment/values.hpp"

namespace dsim {
namespace {

namespace fs = std::filesystem;
using experiment_detail::float_label;
using experiment_detail::float_literal;
using experiment_detail::string_literal;

std::string at(const toml::node& node) {
  const auto& s = node.source();
  return s.begin.line > 0 ? fmt::format(":{}:{}", s.begin.line, s.begin.column) : "";
}

// A factor's values from a TOML value: a list, or a range table.
class FactorReader {
 public:
  FactorReader(std::string file, std::string key) : file_(std::move(file)), key_(std::move(key)) {}

  [[noreturn]] void bad(const toml::node& node, std::string_view message) const {
    throw Error(fmt::format("{}{}: factors.\"{}\": {}", file_, at(node), key_, message));
  }

  Factor read(const toml::node& node) const {
    Factor f;
    f.key = key_;
    f.where = fmt::format("{}: factors.\"{}\"", file_, key_);
    if (const toml::array* list = node.as_array()) {
      if (list->empty()) bad(node, "an empty list of values");
      for (const toml::node& v : *list) f.values.push_back(literal(v));
      return f;
    }
    const toml::table* t = node.as_table();
    if (t == nullptr) bad(node, "expected a list of values or a range table ({ from, to, step }, "
                                "{ linspace = [a, b, n] }, { logspace = [a, b, n] })");
    if (t->contains("linspace") || t->contains("logspace")) {
      const bool log = t->contains("logspace");
      const char* name = log ? "logspace" : "linspace";
      if (t->size() != 1) bad(node, fmt::format("{} takes no other key", name));
      const toml::array* a = t->get(name)->as_array();
      if (a == nullptr || a->size() != 3)
        bad(*t->get(name), fmt::format("{} must be [first, last, count]", name));
      const double lo = number((*a)[0], name), hi = number((*a)[1], name);
      const auto count = (*a)[2].value<std::int64_t>();
      if (!count || *count < 1)
        bad((*a)[2], fmt::format("{} count must be an integer >= 1 (an empty range)", name));
      if (log && !(lo > 0 && hi > 0)) bad(node, "logspace endpoints must be > 0");
      const auto n = static_cast<std::uint64_t>(*count);
      if (n > 1'000'000) bad(node, "more than 1,000,000 values");
      for (std::uint64_t i = 0; i < n; ++i) {
        const double u = n == 1 ? 0.0 : static_cast<double>(i) / static_cast<double>(n - 1);
        double v = log ? lo * std::pow(hi / lo, u) : lo + (hi - lo) * u;
        if (i + 1 == n) v = hi;  // the endpoint exactly
        f.values.push_back(float_literal(v));
      }
      f.range = true;
      f.lo = std::min(lo, hi);
      f.hi = std::max(lo, hi);
      f.log = log;
      return f;
    }
    for (const auto& [k, v] : *t)
      if (k != "from" && k != "to" && k != "step")
        bad(v, fmt::format("unknown key '{}' in a range (from, to, step; or linspace, "
                           "logspace)",
                           k.str()));
    if (!t->contains("from") || !t->contains("to")) bad(node, "a range needs 'from' and 'to'");
    const toml::node& from = *t->get("from");
    const toml::node& to = *t->get("to");
    const double lo = number(from, "from"), hi = number(to, "to");
    const bool integer = from.is_integer() && to.is_integer();
    f.range = true;
    f.lo = std::min(lo, hi);
    f.hi = std::max(lo, hi);
    f.integer = integer;
    if (!t->contains("step")) return f;  // continuous: lhs and random only (checked later)
    const toml::node& step_node = *t->get("step");
    const double step = number(step_node, "step");
    if (!(step != 0) || !std::isfinite(step)) bad(step_node, "step must be a non-zero number");
    if ((hi - lo) / step < 0)
      bad(node, fmt::format("an empty range: from {} does not reach to {} by step {}",
                            float_label(lo), float_label(hi), float_label(step)));
    const double count = std::floor((hi - lo) / step + 1e-9) + 1;
    if (count > 1'000'000) bad(node, "more than 1,000,000 values");
    const bool int_values = integer && step_node.is_integer();
    for (std::int64_t i = 0; i < static_cast<std::int64_t>(count); ++i) {
      const double v = lo + static_cast<double>(i) * step;
      f.values.push_back(int_values ? fmt::format("{}", static_cast<std::int64_t>(std::llround(v)))
                                    : float_literal(v));
    }
    return f;
  }

 private:
  double number(const toml::node& node, std::string_view what) const {
    if (auto v = node.value<double>(); v && (node.is_integer() || node.is_floating_point()) &&
                                       std::isfinite(*v))
      return *v;
    bad(node, fmt::format("{} must be a finite number", what));
  }

  std::string literal(const toml::node& v) const {
    if (v.is_integer()) return fmt::format("{}", *v.value<std::int64_t>());
    if (v.is_floating_point()) return float_literal(*v.value<double>());
    if (v.is_boolean()) return *v.value<bool>() ? "true" : "false";
    if (v.is_string()) return string_literal(*v.value<std::string>());
    bad(v, "a value must be a number, a string or a boolean");
  }

  std::string file_, key_;
};

// Walks [factors]: a value that is a list or a range table (one with any
// of from, to, step, linspace, logspace) is a factor under the dotted path
// to it; any other table is walked into. `out` gets each factor with where
// it was written (toml++ keeps keys sorted; the file's order is restored).
bool is_range_table(const toml::table& t) {
  for (const auto& [k, v] : t)
    if (k == "from" || k == "to" || k == "step" || k == "linspace" || k == "logspace") return true;
  return false;
}

using Placed = std::pair<std::pair<std::uint32_t, std::uint32_t>, Factor>;

void collect_factors(const std::string& file, const toml::table& table, const std::string& prefix,
                     std::vector<Placed>& out) {
  for (const auto& [k, v] : table) {
    const std::string key = prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
    const toml::table* sub = v.as_table();
    if (sub != nullptr && !is_range_table(*sub)) {
      if (sub->empty())
        throw Error(fmt::format("{}{}: factors.\"{}\": an empty table (no values)", file, at(v), key));
      collect_factors(file, *sub, key, out);
      continue;
    }
    out.emplace_back(std::make_pair(v.source().begin.line, v.source().begin.column),
                     FactorReader(file, key).read(v));
  }
}

template <class T>
T get_number(const std::string& file, const toml::table& t, std::string_view key, T fallback,
             double min, double max) {
  const toml::node* n = t.get(key);
  if (n == nullptr) return fallback;
  std::optional<double> v;
  if (n->is_integer() || n->is_floating_point()) v = n->value<double>();
  if constexpr (std::is_integral_v<T>)
    if (!n->is_integer()) v.reset();
  if (!v || !(*v >= min && *v <= max))
    throw Error(fmt::format("{}{}: experiment.{}: must be {} in [{}, {}]", file, at(*n), key,
                            std::is_integral_v<T> ? "an integer" : "a number", min, max));
  return static_cast<T>(*v);
}

std::string get_string(const std::string& file, const toml::table& t, std::string_view key,
                       std::string fallback) {
  const toml::node* n = t.get(key);
  if (n == nullptr) return fallback;
  if (!n->is_string())
    throw Error(fmt::format("{}{}: experiment.{}: must be a string", file, at(*n), key));
  return *n->value<std::string>();
}

toml::table parse_file(const std::string& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec))
    throw Error(fmt::format("{}: no such file", path));
  try {
    return toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    throw Error(fmt::format("{}:{}:{}: {}", path, e.source().begin.line, e.source().begin.column,
                            e.description()));
  }
}

}  // namespace

Precision parse_precision(const std::string& text) {
  const std::size_t eq = text.rfind('=');
  auto bad = [&](std::string_view why) -> Precision {
    throw Error(fmt::format("--precision {}: {} (expected GROUP.STAT[.FIELD]=RELATIVE, e.g. "
                            "queue.wait.mean=0.01)",
                            text, why));
  };
  if (eq == std::string::npos) return bad("no '='");
  Precision p;
  const std::string name = text.substr(0, eq);
  const std::size_t d1 = name.find('.');
  if (d1 == std::string::npos || d1 == 0) return bad("no group");
  const std::size_t d2 = name.find('.', d1 + 1);
  p.group = name.substr(0, d1);
  p.stat = name.substr(d1 + 1, d2 == std::string::npos ? std::string::npos : d2 - d1 - 1);
  p.field = d2 == std::string::npos ? "mean" : name.substr(d2 + 1);
  if (p.stat.empty() || p.field.empty()) return bad("an empty name");
  try {
    std::size_t used = 0;
    p.relative = std::stod(text.substr(eq + 1), &used);
    if (used != text.size() - eq - 1) return bad("the relative precision is not a number");
  } catch (const std::exception&) {
    return bad("the relative precision is not a number");
  }
  if (!(p.relative > 0 && p.relative < 1e6)) return bad("the relative precision must be > 0");
  return p;
}

Factor parse_vary(const std::string& text) {
  const std::size_t eq = text.find('=');
  auto bad = [&](std::string_view why) -> Factor {
    throw Error(fmt::format("--vary {}: {} (expected KEY=V1,V2,... or KEY=FROM:TO:STEP)", text,
                            why));
  };
  if (eq == std::string::npos || eq == 0) return bad("no KEY=");
  Factor f;
  f.key = text.substr(0, eq);
  f.where = "--vary " + f.key;
  const std::string rest = text.substr(eq + 1);
  if (rest.empty()) return bad("no values");
  // FROM:TO:STEP when it is three numbers.
  if (std::count(rest.begin(), rest.end(), ':') == 2 && rest.find(',') == std::string::npos) {
    std::string doc = "r = { from = " + rest.substr(0, rest.find(':')) + ", to = " +
                      rest.substr(rest.find(':') + 1, rest.rfind(':') - rest.find(':') - 1) +
                      ", step = " + rest.substr(rest.rfind(':') + 1) + " }";
    try {
      const toml::table t = toml::parse(doc);
      Factor r = FactorReader("--vary", f.key).read(*t.get("r"));
      r.where = f.where;
      return r;
    } catch (const toml::parse_error&) {
      return bad("FROM, TO and STEP must be numbers");
    }
  }
  // A comma-separated list; each value is TOML ("3", "0.5", "\"x\"") or a
  // bare string.
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = rest.find(',', start);
    std::string v = rest.substr(start, comma - start);
    while (!v.empty() && v.front() == ' ') v.erase(v.begin());
    while (!v.empty() && v.back() == ' ') v.pop_back();
    if (v.empty()) return bad("an empty value");
    std::string literal;
    try {
      const toml::table t = toml::parse("v = " + v);
      const toml::node& n = *t.get("v");
      if (n.is_integer()) literal = fmt::format("{}", *n.value<std::int64_t>());
      else if (n.is_floating_point()) literal = float_literal(*n.value<double>());
      else if (n.is_boolean()) literal = *n.value<bool>() ? "true" : "false";
      else if (n.is_string()) literal = string_literal(*n.value<std::string>());
    } catch (const toml::parse_error&) {
    }
    f.values.push_back(literal.empty() ? string_literal(v) : literal);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return f;
}

bool is_experiment_file(const std::string& path) {
  return parse_file(path).contains("experiment");
}

Experiment load_experiment(const std::string& path) {
  const toml::table doc = parse_file(path);
  Experiment e;
  e.file = path;
  for (const auto& [k, v] : doc)
    if (k != "experiment" && k != "factors")
      throw Error(fmt::format("{}{}: unknown table or key '{}' (an experiment file has "
                              "[experiment] and [factors])",
                              path, at(v), k.str()));
  const toml::table* x = doc.get_as<toml::table>("experiment");
  if (x == nullptr) throw Error(fmt::format("{}: no [experiment] table", path));
  static const std::set<std::string_view> known = {
      "model", "replications", "precision", "confidence", "min_replications",
      "max_replications", "common_random_numbers", "seed", "design", "points", "design_seed",
      "set", "output"};
  for (const auto& [k, v] : *x)
    if (!known.contains(k.str()))
      throw Error(fmt::format("{}{}: experiment.{}: unknown key (known: model, replications, "
                              "precision, confidence, min_replications, max_replications, "
                              "common_random_numbers, seed, design, points, design_seed, set, "
                              "output)",
                              path, at(v), k.str()));
  const std::string model = get_string(path, *x, "model", "");
  if (model.empty()) throw Error(fmt::format("{}: experiment.model: missing (the model config)", path));
  const fs::path dir = fs::path(path).parent_path();
  e.model = fs::path(model).is_absolute() ? model : (dir / model).lexically_normal().string();
  e.output = get_string(path, *x, "output", "");
  if (!e.output.empty() && fs::path(e.output).is_relative())
    e.output = (dir / e.output).lexically_normal().string();
  e.design = get_string(path, *x, "design", "factorial");
  if (e.design != "factorial" && e.design != "lhs" && e.design != "random" &&
      e.design != "points")
    throw Error(fmt::format("{}{}: experiment.design: '{}' is none of factorial, lhs, random, points",
                            path, at(*x->get("design")), e.design));
  e.points = get_number<std::uint32_t>(path, *x, "points", 0, 1, 1e7);
  if ((e.design == "lhs" || e.design == "random") && e.points == 0)
    throw Error(fmt::format("{}: experiment.points: a {} design needs a point count", path,
                            e.design));
  if ((e.design == "factorial" || e.design == "points") && x->contains("points"))
    throw Error(fmt::format("{}{}: experiment.points: only for lhs and random designs", path,
                            at(*x->get("points"))));
  e.design_seed = get_number<std::uint64_t>(path, *x, "design_seed", 1, 0, 9.2e18);
  if (x->contains("seed")) e.seed = get_number<std::uint64_t>(path, *x, "seed", 1, 0, 9.2e18);
  e.confidence = get_number<double>(path, *x, "confidence", 0.95, 0, 1);
  if (!(e.confidence > 0 && e.confidence < 1))
    throw Error(fmt::format("{}: experiment.confidence: must be between 0 and 1 (exclusive)", path));
  e.common_random_numbers = x->contains("common_random_numbers")
                                ? x->get("common_random_numbers")->value_or(true)
                                : true;
  if (const toml::node* n = x->get("common_random_numbers"); n && !n->is_boolean())
    throw Error(fmt::format("{}{}: experiment.common_random_numbers: must be true or false", path,
                            at(*n)));
  if (const toml::node* n = x->get("set")) {
    const toml::array* a = n->as_array();
    if (a == nullptr) throw Error(fmt::format("{}{}: experiment.set: must be a list of \"key=value\" strings", path, at(*n)));
    for (const toml::node& s : *a) {
      if (!s.is_string() || s.value<std::string>()->find('=') == std::string::npos)
        throw Error(fmt::format("{}{}: experiment.set: each entry must be a \"key=value\" string",
                                path, at(s)));
      e.overrides.push_back(*s.value<std::string>());
    }
  }
  if (const toml::node* n = x->get("precision")) {
    const toml::table* t = n->as_table();
    if (t == nullptr)
      throw Error(fmt::format("{}{}: experiment.precision: must be a table {{ stat = "
                              "\"queue.wait.mean\", relative = 0.01 }}",
                              path, at(*n)));
    for (const auto& [k, v] : *t)
      if (k != "stat" && k != "relative")
        throw Error(fmt::format("{}{}: experiment.precision.{}: unknown key (stat, relative)", path,
                                at(v), k.str()));
    const toml::node* stat = t->get("stat");
    const toml::node* rel = t->get("relative");
    if (stat == nullptr || !stat->is_string())
      throw Error(fmt::format("{}{}: experiment.precision.stat: missing or not a string "
                              "(group.stat.field)",
                              path, at(*n)));
    if (rel == nullptr || !(rel->is_floating_point() || rel->is_integer()))
      throw Error(fmt::format("{}{}: experiment.precision.relative: missing or not a number", path,
                              at(*n)));
    try {
      e.precision = parse_precision(*stat->value<std::string>() + "=" +
                                    float_literal(*rel->value<double>()));
    } catch (const Error& error) {
      throw Error(fmt::format("{}{}: experiment.precision: {}", path, at(*n), error.what()));
    }
    if (x->contains("replications"))
      throw Error(fmt::format("{}{}: experiment.replications: give either a fixed number of "
                              "replications or a precision (with min_replications and "
                              "max_replications), not both",
                              path, at(*x->get("replications"))));
  }
  e.replications = get_number<std::uint32_t>(path, *x, "replications", 10, 1, 1e7);
  e.min_replications = get_number<std::uint32_t>(path, *x, "min_replications", 5, 2, 1e7);
  e.max_replications = get_number<std::uint32_t>(path, *x, "max_replications", 100, 2, 1e7);
  if (!e.precision && (x->contains("min_replications") || x->contains("max_replications")))
    throw Error(fmt::format("{}: experiment.min_replications/max_replications: only with a "
                            "precision",
                            path));
  if (e.min_replications > e.max_replications)
    throw Error(fmt::format("{}: experiment.min_replications ({}) is above max_replications ({})",
                            path, e.min_replications, e.max_replications));
  if (const toml::table* f = doc.get_as<toml::table>("factors")) {
    std::vector<Placed> placed;
    collect_factors(path, *f, "", placed);
    std::stable_sort(placed.begin(), placed.end(),
                     [](const Placed& a, const Placed& b) { return a.first < b.first; });
    for (Placed& p : placed) e.factors.push_back(std::move(p.second));
  } else if (doc.contains("factors"))
    throw Error(fmt::format("{}: factors: must be a table", path));
  return e;
}

}  // namespace dsim
