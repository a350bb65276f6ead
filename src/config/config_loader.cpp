// load_model(): TOML config -> ModelSpec. Every check that needs no registry
// happens here, so a bad config fails before anything is built, with one
// message of the form "<file>:<line>:<column>: <key path>: <what is wrong>".
// model_from_json() turns a spec's JSON form into the same tables
// (config/json_config.hpp) and reads them with the same Loader; its values
// have no line, so its messages name the key alone: "<name>: <key path>: ...".
//
// Overrides (--set key.path=value) are written into the parsed document before
// any check, so an overridden value is checked exactly like a written one. The
// loader remembers which nodes came from which override and reports their
// location as "<file> (--set <text>)".
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <optional>
#include <span>
#include <sstream>
#include <unordered_map>

#include "config/json_config.hpp"
#include "config/names.hpp"
#include "config/topology.hpp"
#include "dsim/message.hpp"
#include "dsim/model_spec.hpp"

namespace dsim {
namespace {

namespace fs = std::filesystem;
using config::contains;
using config::did_you_mean;
using config::join_names;
using config::trim;

// "groups" is accepted as another name for "entities" (the spec calls them
// groups; some configs do too).
constexpr std::array<std::string_view, 7> kTopKeys = {
    "simulation", "entities", "groups", "links", "output", "checkpoint", "plugins"};
constexpr std::array<std::string_view, 11> kSimulationKeys = {
    "end_time",     "seed",         "sync",
    "threads",      "partitioner",  "queue",
    "memory_limit", "state_saving", "state_saving_period",
    "plugins",      "topology_seed"};
constexpr std::array<std::string_view, 4> kGroupKeys = {"name", "type", "count", "params"};
constexpr std::array<std::string_view, 14> kLinkKeys = {
    "from", "to",    "topology", "lookahead", "weight", "k",    "degree",
    "m",    "edges", "rows",     "cols",      "p",      "file", "symmetric"};
constexpr std::array<std::string_view, 3> kOutputKeys = {"directory", "sample_interval", "formats"};
constexpr std::array<std::string_view, 4> kCheckpointKeys = {"every", "wall_every", "directory",
                                                             "keep"};

std::string_view type_name(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::table:
      return "table";
    case toml::node_type::array:
      return "array";
    case toml::node_type::string:
      return "string";
    case toml::node_type::integer:
      return "integer";
    case toml::node_type::floating_point:
      return "float";
    case toml::node_type::boolean:
      return "boolean";
    case toml::node_type::date:
      return "date";
    case toml::node_type::time:
      return "time";
    case toml::node_type::date_time:
      return "date-time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

std::string with_article(std::string_view noun) {
  const bool vowel =
      !noun.empty() && std::string_view("aeiou").find(noun[0]) != std::string_view::npos;
  return fmt::format("{} {}", vowel ? "an" : "a", noun);
}

// A scalar as it would be written in the config, for "(got ...)", clipped.
std::string node_text(const toml::node& node) {
  if (auto v = node.value_exact<std::int64_t>()) return std::to_string(*v);
  if (auto v = node.value_exact<double>()) return to_string(ParamValue(*v));
  if (auto v = node.value_exact<std::string>()) return clip(to_string(ParamValue(*v)));
  std::ostringstream out;
  node.visit([&](const auto& v) { out << v; });
  return clip(out.str());
}

std::string child(std::string_view path, std::string_view key) {
  return path.empty() ? std::string(key) : fmt::format("{}.{}", path, key);
}

std::string indexed(std::string_view path, std::size_t i) { return fmt::format("{}[{}]", path, i); }

bool is_identifier(std::string_view s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

// "2GiB", "512 MiB", "1.5GB", "4096" -> bytes; nullopt if not a size.
std::optional<std::uint64_t> parse_byte_size(std::string_view text) {
  text = trim(text);
  std::size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'))
    ++i;
  const std::string number(text.substr(0, i));
  if (number.empty() || number.front() == '.' || number.back() == '.' ||
      std::count(number.begin(), number.end(), '.') > 1)
    return std::nullopt;
  std::string unit(trim(text.substr(i)));
  std::transform(unit.begin(), unit.end(), unit.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  static constexpr std::array<std::pair<std::string_view, double>, 10> kUnits = {{
      {"", 1.0},
      {"b", 1.0},
      {"kb", 1e3},
      {"mb", 1e6},
      {"gb", 1e9},
      {"tb", 1e12},
      {"kib", 1024.0},
      {"mib", 1024.0 * 1024},
      {"gib", 1024.0 * 1024 * 1024},
      {"tib", 1024.0 * 1024 * 1024 * 1024},
  }};
  for (const auto& [name, factor] : kUnits) {
    if (unit != name) continue;
    const double bytes = std::floor(std::strtod(number.c_str(), nullptr) * factor);
    if (!(bytes < 0x1.0p63)) return std::nullopt;
    return static_cast<std::uint64_t>(bytes);
  }
  return std::nullopt;
}

// "0" to "18446744073709551615", decimal digits only; nullopt otherwise.
std::optional<std::uint64_t> parse_seed(std::string_view text) {
  std::uint64_t seed = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seed);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return seed;
}

// A value read from the document, with where it was (or, when absent, where
// it would have been) and its full key path for messages.
template <class T>
struct Field {
  std::optional<T> value;
  SourceLocation at;
  std::string key;

  [[noreturn]] void fail(std::string_view message) const {
    throw Error(fmt::format("{}: {}: {}", at.str(), clip(key), message));
  }
};

// The document of the config file at `path`.
toml::table parse_config_file(const std::string& path) {
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (!fs::exists(status))
    throw Error(fmt::format("{}: cannot read config file: no such file", path));
  if (fs::is_directory(status))
    throw Error(fmt::format("{}: cannot read config file: it is a directory", path));
  try {
    return toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    const toml::source_position& at = e.source().begin;
    if (at.line == 0)
      throw Error(fmt::format("{}: cannot read config file: {}", path, e.description()));
    throw Error(fmt::format("{}:{}:{}: {}", path, at.line, at.column, e.description()));
  }
}

// Reads one document into a ModelSpec. `name` is the file in messages (and
// the spec's `file`); relative paths in the document are resolved against
// `dir` (empty: the current directory).
class Loader {
 public:
  Loader(std::string name, fs::path dir) : path_(std::move(name)), dir_(std::move(dir)) {}

  ModelSpec load(toml::table doc, const std::vector<std::string>& overrides) {
    for (const std::string& text : overrides) apply_override(doc, text);

    ModelSpec spec;
    spec.file = path_;
    check_keys(doc, "", kTopKeys);
    if (doc.contains("entities") && doc.contains("groups"))
      fail(where(*doc.get("groups")), "groups",
           "both [[entities]] and [[groups]] are given; list every group under [[entities]]");
    if (doc.contains("groups")) groups_key_ = "groups";
    read_simulation(doc, spec);
    read_groups(doc, spec);
    read_links(doc, spec);
    read_output(doc, spec);
    read_checkpoint(doc, spec);
    if (const toml::node* plugins = doc.get("plugins"))
      read_plugins(*plugins, "plugins", spec.plugins);
    return spec;
  }

 private:
  // ---- locations and errors -------------------------------------------------

  SourceLocation file_only() const { return {path_, 0, 0}; }

  SourceLocation where(const toml::node& node) const {
    if (auto it = overridden_.find(&node); it != overridden_.end())
      return {fmt::format("{} (--set {})", path_, clip(it->second)), 0, 0};
    const toml::source_position& begin = node.source().begin;
    if (begin.line == 0) return file_only();
    return {path_, static_cast<int>(begin.line), static_cast<int>(begin.column)};
  }

  // For messages about a key itself (unknown key): the key's own position.
  SourceLocation where_key(const toml::key& key, const toml::node& value) const {
    if (overridden_.count(&value) != 0 || key.source().begin.line == 0) return where(value);
    return {path_, static_cast<int>(key.source().begin.line),
            static_cast<int>(key.source().begin.column)};
  }

  [[noreturn]] static void fail(const SourceLocation& at, std::string_view key,
                                std::string_view message) {
    throw Error(fmt::format("{}: {}: {}", at.str(), clip(key), message));
  }

  // ---- overrides -------------------------------------------------------------------

  // The value part of the override that wrote `node`, as typed.
  std::optional<std::string> override_text(const toml::node& node) const {
    auto it = overridden_.find(&node);
    if (it == overridden_.end()) return std::nullopt;
    return std::string(trim(std::string_view(it->second).substr(it->second.find('=') + 1)));
  }

  void mark(const toml::node& node, const std::string& text) {
    overridden_[&node] = text;
    if (const toml::table* t = node.as_table())
      for (const auto& [k, v] : *t) mark(v, text);
    if (const toml::array* a = node.as_array())
      for (const toml::node& v : *a) mark(v, text);
  }

  void unmark(const toml::node& node) {
    overridden_.erase(&node);
    if (const toml::table* t = node.as_table())
      for (const auto& [k, v] : *t) unmark(v);
    if (const toml::array* a = node.as_array())
      for (const toml::node& v : *a) unmark(v);
  }

  void apply_override(toml::table& doc, const std::string& text) {
    auto bad = [&](std::string_view message) {
      throw Error(fmt::format("{}: --set {}: {}", path_, clip(text), message));
    };
    const std::size_t eq = text.find('=');
    if (eq == std::string::npos) bad("expected key.path=value");
    const std::string_view key_text = trim(std::string_view(text).substr(0, eq));
    const std::string_view value_text = trim(std::string_view(text).substr(eq + 1));

    std::vector<std::string> parts;
    for (std::size_t start = 0;;) {
      const std::size_t dot = key_text.find('.', start);
      parts.emplace_back(trim(key_text.substr(start, dot - start)));
      if (parts.back().empty()) bad(fmt::format("empty component in key '{}'", clip(key_text)));
      if (dot == std::string_view::npos) break;
      start = dot + 1;
    }

    toml::table* table = &doc;
    std::string walked;
    for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
      const std::string& part = parts[i];
      if (table == &doc && (part == "entities" || part == "groups" || part == "links")) {
        if (i + 2 >= parts.size())
          bad(fmt::format("'{}' must be followed by {} and a key, e.g. {}.{}.count", clip(part),
                          part == "links" ? "a link index" : "a group name", part,
                          part == "links" ? "0" : "hosts"));
        const bool groups = part != "links";
        const std::string_view array_name =
            groups ? (doc.contains("groups") ? "groups" : "entities") : "links";
        table = select_element(doc, array_name, parts[i + 1], bad);
        walked = fmt::format("{}.{}", part, parts[i + 1]);
        ++i;
        continue;
      }
      walked = child(walked, part);
      toml::node* next = table->get(part);
      if (next == nullptr) {
        table = table->insert(part, toml::table{}).first->second.as_table();
      } else if ((table = next->as_table()) == nullptr) {
        bad(fmt::format("'{}' is not a table (it is {})", clip(walked),
                        with_article(type_name(*next))));
      }
    }

    // The value is TOML ("500", "0.5", "true", "\"x\"", "[\"csv\"]"); anything
    // that does not parse as a TOML value is taken as a bare string.
    toml::table parsed;
    try {
      parsed = toml::parse(fmt::format("v = {}", value_text), std::string_view("--set"));
    } catch (const toml::parse_error&) {
    }
    if (parsed.size() != 1 || parsed.get("v") == nullptr) {
      parsed.clear();
      parsed.insert("v", std::string(value_text));
    }
    const std::string& leaf = parts.back();
    if (const toml::node* old = table->get(leaf)) unmark(*old);
    parsed.get("v")->visit([&](auto& v) { table->insert_or_assign(leaf, std::move(v)); });
    mark(*table->get(leaf), text);
  }

  template <class Bad>
  toml::table* select_element(toml::table& doc, std::string_view array_name,
                              const std::string& selector, Bad& bad) {
    toml::array* array = doc.get_as<toml::array>(array_name);
    const std::size_t size = array != nullptr ? array->size() : 0;
    const bool numeric = std::all_of(selector.begin(), selector.end(), [](char c) {
      return std::isdigit(static_cast<unsigned char>(c));
    });
    if (numeric) {
      const std::size_t index = std::stoull(selector.size() > 18 ? "999999999999999999" : selector);
      if (index >= size)
        bad(fmt::format("no {} with index {} (the config has {})",
                        array_name == "links" ? "link" : "entity group", index, size));
      toml::table* t = array->get(index)->as_table();
      if (t == nullptr) bad(fmt::format("{}[{}] is not a table", array_name, index));
      return t;
    }
    if (array_name == "links")
      bad(fmt::format("links are addressed by index, not '{}'", clip(selector)));
    std::vector<std::string_view> names;
    if (array != nullptr) {
      for (toml::node& element : *array) {
        toml::table* t = element.as_table();
        if (t == nullptr) continue;
        if (const auto* name = t->get_as<std::string>("name")) {
          if (name->get() == selector) return t;
          names.push_back(name->get());
        }
      }
    }
    bad(fmt::format("no entity group named '{}'{}", clip(selector), did_you_mean(selector, names)));
    return nullptr;
  }

  // ---- typed access ---------------------------------------------------------------

  void check_keys(const toml::table& table, std::string_view path,
                  std::span<const std::string_view> allowed) const {
    for (const auto& [key, value] : table) {
      if (contains(allowed, key.str())) continue;
      std::string hint = did_you_mean(key.str(), allowed);
      if (hint.empty()) hint = fmt::format(" (known keys: {})", join_names(allowed, ", "));
      fail(where_key(key, value), child(path, key.str()), fmt::format("unknown key{}", hint));
    }
  }

  template <class T>
  Field<T> get(const toml::table& table, std::string_view path, std::string_view key) const {
    Field<T> f;
    f.key = child(path, key);
    const toml::node* node = table.get(key);
    if (node == nullptr) {
      f.at = where(table);
      return f;
    }
    f.at = where(*node);
    auto wrong = [&](std::string_view wanted) {
      f.fail(fmt::format("expected {}, got {} {}", wanted, type_name(*node), node_text(*node)));
    };
    if constexpr (std::is_same_v<T, double>) {
      if (auto v = node->value_exact<double>()) {
        f.value = *v;
      } else if (auto i = node->value_exact<std::int64_t>()) {
        f.value = static_cast<double>(*i);
      } else {
        wrong("a float");
      }
      if (f.value && !std::isfinite(*f.value))
        f.fail(fmt::format("must be a finite number (got {})", node_text(*node)));
    } else if constexpr (std::is_same_v<T, std::int64_t>) {
      if (auto v = node->value_exact<std::int64_t>())
        f.value = *v;
      else
        wrong("an integer");
    } else if constexpr (std::is_same_v<T, std::string>) {
      if (auto v = node->value_exact<std::string>()) {
        f.value = *v;
      } else if (auto raw = override_text(*node); raw && node->is_value()) {
        // --set output.directory=2024 means the text, not the number.
        f.value = *raw;
      } else {
        wrong("a string");
      }
    } else if constexpr (std::is_same_v<T, bool>) {
      if (auto v = node->value_exact<bool>())
        f.value = *v;
      else
        wrong("a boolean");
    } else {
      static_assert(std::is_same_v<T, std::vector<std::string>>);
      const toml::array* array = node->as_array();
      if (array == nullptr) wrong("an array of strings");
      f.value.emplace();
      for (std::size_t i = 0; i < array->size(); ++i) {
        const toml::node& element = *array->get(i);
        auto s = element.value_exact<std::string>();
        if (!s)
          fail(where(element), indexed(f.key, i),
               fmt::format("expected a string, got {} {}", type_name(element), node_text(element)));
        f.value->push_back(*s);
      }
    }
    return f;
  }

  template <class T>
  Field<T> require(const toml::table& table, std::string_view path, std::string_view key) const {
    Field<T> f = get<T>(table, path, key);
    if (!f.value)
      fail(where(table), path.empty() ? std::string("<top level>") : std::string(path),
           fmt::format("missing required key '{}'", key));
    return f;
  }

  // The sub-table `key` of `parent`, or nullptr if absent.
  const toml::table* subtable(const toml::table& parent, std::string_view path,
                              std::string_view key) const {
    const toml::node* node = parent.get(key);
    if (node == nullptr) return nullptr;
    const toml::table* t = node->as_table();
    if (t == nullptr)
      fail(where(*node), child(path, key),
           fmt::format("expected a table, got {} {}", type_name(*node), node_text(*node)));
    return t;
  }

  // The array of tables `key` of the document ([[key]]), or nullptr if absent.
  const toml::array* table_array(const toml::table& doc, std::string_view key) const {
    const toml::node* node = doc.get(key);
    if (node == nullptr) return nullptr;
    const toml::array* a = node->as_array();
    if (a == nullptr)
      fail(where(*node), key,
           fmt::format("expected an array of tables ([[{}]]), got {}", key, type_name(*node)));
    for (std::size_t i = 0; i < a->size(); ++i)
      if (!a->get(i)->is_table())
        fail(where(*a->get(i)), indexed(key, i),
             fmt::format("expected a table, got {} {}", type_name(*a->get(i)),
                         node_text(*a->get(i))));
    return a;
  }

  std::string one_of(const Field<std::string>& f, std::span<const std::string_view> names,
                     std::string_view what) const {
    if (!contains(names, *f.value))
      f.fail(fmt::format("unknown {} '{}'{} (expected {})", what, clip(*f.value),
                         did_you_mean(*f.value, names), join_names(names)));
    return *f.value;
  }

  fs::path resolve(const std::string& text) const {
    fs::path p(text);
    if (p.is_relative()) p = dir_ / p;
    std::error_code ec;
    fs::path absolute = fs::absolute(p, ec);
    return (ec ? p : absolute).lexically_normal();
  }

  // ---- sections -----------------------------------------------------------------

  void read_simulation(const toml::table& doc, ModelSpec& spec) {
    const toml::table* sim = subtable(doc, "", "simulation");
    if (sim == nullptr)
      fail(file_only(), "simulation", "missing required table [simulation] (it needs end_time)");
    check_keys(*sim, "simulation", kSimulationKeys);
    SimulationSpec& s = spec.simulation;
    s.location = where(*sim);

    auto end_time = require<double>(*sim, "simulation", "end_time");
    if (!(*end_time.value > 0))
      end_time.fail(fmt::format("must be > 0 (got {})", to_string(ParamValue(*end_time.value))));
    s.end_time = *end_time.value;

    if (auto seed = read_seed(*sim, "seed")) s.seed = *seed;
    s.topology_seed = read_seed(*sim, "topology_seed");
    if (auto sync = get<std::string>(*sim, "simulation", "sync"); sync.value)
      s.sync = one_of(sync, config::kSyncModes, "sync mode");
    if (auto threads = get<std::int64_t>(*sim, "simulation", "threads"); threads.value) {
      if (*threads.value < 0) threads.fail(fmt::format("must be >= 0 (got {})", *threads.value));
      if (*threads.value > std::numeric_limits<std::uint32_t>::max())
        threads.fail(fmt::format("too large (got {})", *threads.value));
      s.threads = static_cast<std::uint32_t>(*threads.value);
    }
    if (auto partitioner = get<std::string>(*sim, "simulation", "partitioner"); partitioner.value)
      s.partitioner = one_of(partitioner, config::kPartitioners, "partitioner");
    if (auto queue = get<std::string>(*sim, "simulation", "queue"); queue.value)
      s.queue = one_of(queue, config::kQueues, "event queue");
    read_memory_limit(*sim, s);
    if (auto saving = get<std::string>(*sim, "simulation", "state_saving"); saving.value)
      s.state_saving = one_of(saving, config::kStateSavings, "state saving mode");
    if (auto period = get<std::int64_t>(*sim, "simulation", "state_saving_period"); period.value) {
      if (*period.value < 1) period.fail(fmt::format("must be >= 1 (got {})", *period.value));
      if (*period.value > config::kMaxStateSavingPeriod)
        period.fail(
            fmt::format("must be <= {} (got {})", config::kMaxStateSavingPeriod, *period.value));
      s.state_saving_period = static_cast<std::uint32_t>(*period.value);
    }
    if (const toml::node* plugins = sim->get("plugins"))
      read_plugins(*plugins, "simulation.plugins", spec.plugins);
  }

  // Any integer from 0 to 2^64-1. TOML integers stop at 2^63-1, so a seed may
  // also be a string of decimal digits (seed = "18446744073709551615"); --set
  // and --seed pass a number too large for TOML as such a string.
  std::optional<std::uint64_t> read_seed(const toml::table& sim, std::string_view name) const {
    const toml::node* node = sim.get(name);
    if (node == nullptr) return std::nullopt;
    const std::string key = fmt::format("simulation.{}", name);
    if (auto seed = node->value_exact<std::int64_t>()) {
      if (*seed < 0) fail(where(*node), key, fmt::format("must be >= 0 (got {})", *seed));
      return static_cast<std::uint64_t>(*seed);
    }
    if (auto text = node->value_exact<std::string>()) {
      if (auto seed = parse_seed(*text)) return *seed;
    }
    fail(where(*node), key,
         fmt::format("expected an integer from 0 to {} (above {} also as a string of digits), "
                     "got {} {}",
                     std::numeric_limits<std::uint64_t>::max(),
                     std::numeric_limits<std::int64_t>::max(), type_name(*node), node_text(*node)));
  }

  void read_memory_limit(const toml::table& sim, SimulationSpec& s) const {
    const toml::node* node = sim.get("memory_limit");
    if (node == nullptr) return;
    const std::string key = "simulation.memory_limit";
    if (auto bytes = node->value_exact<std::int64_t>()) {
      if (*bytes < 0) fail(where(*node), key, fmt::format("must be >= 0 (got {})", *bytes));
      s.memory_limit = static_cast<std::uint64_t>(*bytes);
    } else if (auto text = node->value_exact<std::string>()) {
      auto bytes = parse_byte_size(*text);
      if (!bytes)
        fail(where(*node), key,
             fmt::format("not a size: {} (write bytes as an integer, or e.g. \"512MiB\", "
                         "\"2GiB\", \"1.5GB\")",
                         node_text(*node)));
      s.memory_limit = *bytes;
    } else {
      fail(where(*node), key,
           fmt::format("expected an integer or a size string, got {} {}", type_name(*node),
                       node_text(*node)));
    }
  }

  void read_plugins(const toml::node& node, std::string_view key, std::vector<std::string>& out) {
    const toml::array* array = node.as_array();
    if (array == nullptr)
      fail(
          where(node), key,
          fmt::format("expected an array of strings, got {} {}", type_name(node), node_text(node)));
    for (std::size_t i = 0; i < array->size(); ++i) {
      const toml::node& element = *array->get(i);
      auto text = element.value_exact<std::string>();
      if (!text)
        fail(where(element), indexed(key, i),
             fmt::format("expected a string, got {} {}", type_name(element), node_text(element)));
      const fs::path plugin = resolve(*text);
      std::error_code ec;
      if (!fs::is_regular_file(plugin, ec))
        fail(where(element), indexed(key, i),
             fmt::format("plugin file \"{}\" not found (looked for {})", clip(*text),
                         clip(plugin.string())));
      out.push_back(plugin.string());
    }
  }

  void read_groups(const toml::table& doc, ModelSpec& spec) {
    const toml::array* groups = table_array(doc, groups_key_);
    if (groups == nullptr || groups->empty())
      fail(file_only(), groups_key_,
           "no entity groups: add at least one [[entities]] table with name and type");
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < groups->size(); ++i) {
      const toml::table& t = *groups->get(i)->as_table();
      const std::string path = indexed(groups_key_, i);
      check_keys(t, path, kGroupKeys);
      GroupSpec g;
      g.location = where(t);

      auto name = require<std::string>(t, path, "name");
      if (!is_identifier(*name.value))
        name.fail(
            fmt::format("group name \"{}\" is not an identifier (letters, digits and _, "
                        "not starting with a digit)",
                        clip(*name.value)));
      for (const GroupSpec& other : spec.groups)
        if (other.name == *name.value)
          name.fail(fmt::format("duplicate group name '{}' (first defined at {})",
                                clip(*name.value), other.location.str()));
      g.name = *name.value;

      auto type = require<std::string>(t, path, "type");
      if (type.value->empty()) type.fail("entity type must not be empty");
      g.type = *type.value;

      if (auto count = get<std::int64_t>(t, path, "count"); count.value) {
        if (*count.value < 1) count.fail(fmt::format("must be >= 1 (got {})", *count.value));
        if (static_cast<std::uint64_t>(*count.value) >= kMaxEntities)
          count.fail(fmt::format("must be < {} (got {})", kMaxEntities, *count.value));
        g.count = static_cast<std::uint64_t>(*count.value);
      }
      total += g.count;
      if (total >= kMaxEntities)
        fail(g.location, path,
             fmt::format("the model has {} entities up to this group, more than the {} allowed",
                         total, kMaxEntities - 1));

      if (const toml::table* params = subtable(t, path, "params"))
        read_params(*params, child(path, "params"), g);
      spec.groups.push_back(std::move(g));
    }
  }

  void read_params(const toml::table& params, const std::string& path, GroupSpec& g) const {
    for (const auto& [key, node] : params) {
      const std::string name(key.str());
      ParamValue value;
      if (auto b = node.value_exact<bool>()) {
        value = *b;
      } else if (auto i = node.value_exact<std::int64_t>()) {
        value = *i;
      } else if (auto d = node.value_exact<double>()) {
        value = *d;
      } else if (auto s = node.value_exact<std::string>()) {
        value = *s;
      } else {
        fail(where(node), child(path, name),
             fmt::format("a parameter is a boolean, integer, float or string, got {}",
                         type_name(node)));
      }
      g.params[name] = std::move(value);
      g.param_locations[name] = where(node);
    }
  }

  const GroupSpec* group_named(const ModelSpec& spec, const Field<std::string>& f) const {
    for (const GroupSpec& g : spec.groups)
      if (g.name == *f.value) return &g;
    std::vector<std::string_view> names;
    for (const GroupSpec& g : spec.groups) names.push_back(g.name);
    std::string hint = did_you_mean(*f.value, names);
    if (hint.empty()) {
      std::vector<std::string> clipped;
      for (std::string_view name : names) clipped.push_back(clip(name));
      hint = fmt::format(" (groups: {})", fmt::join(clipped, ", "));
    }
    f.fail(fmt::format("no entity group named '{}'{}", clip(*f.value), hint));
  }

  void read_links(const toml::table& doc, ModelSpec& spec) {
    const toml::array* links = table_array(doc, "links");
    if (links == nullptr) return;
    for (std::size_t i = 0; i < links->size(); ++i) {
      const toml::table& t = *links->get(i)->as_table();
      const std::string path = indexed("links", i);
      check_keys(t, path, kLinkKeys);
      LinkSpec link;
      link.location = where(t);

      const GroupSpec* from = group_named(spec, require<std::string>(t, path, "from"));
      const GroupSpec* to = group_named(spec, require<std::string>(t, path, "to"));
      link.from = from->name;
      link.to = to->name;

      TopologyOptions& topo = link.topology;
      topo.kind = "one_to_one";
      if (auto kind = get<std::string>(t, path, "topology"); kind.value)
        topo.kind = one_of(kind, config::topology_kinds(), "topology");
      const auto applicable = config::topology_option_keys(topo.kind);
      for (std::string_view option : config::topology_option_keys()) {
        const toml::node* node = t.get(option);
        if (node == nullptr || contains(applicable, option)) continue;
        fail(where(*node), child(path, option),
             fmt::format("option '{}' does not apply to topology '{}' ({})", option, topo.kind,
                         applicable.empty() ? std::string("it takes no options")
                                            : fmt::format("it takes {}", join_names(applicable))));
      }
      topo.k = get<std::int64_t>(t, path, "k").value;
      topo.degree = get<std::int64_t>(t, path, "degree").value;
      topo.m = get<std::int64_t>(t, path, "m").value;
      topo.edges = get<std::int64_t>(t, path, "edges").value;
      topo.rows = get<std::int64_t>(t, path, "rows").value;
      topo.cols = get<std::int64_t>(t, path, "cols").value;
      if (auto p = get<double>(t, path, "p"); p.value) {
        if (!(*p.value >= 0 && *p.value <= 1))
          p.fail(fmt::format("must be in [0, 1] (got {})", to_string(ParamValue(*p.value))));
        topo.p = *p.value;
      }
      topo.symmetric = get<bool>(t, path, "symmetric").value.value_or(false);
      if (topo.kind == "edge_list") {
        auto file = require<std::string>(t, path, "file");
        const fs::path resolved = resolve(*file.value);
        std::error_code ec;
        if (!fs::is_regular_file(resolved, ec))
          file.fail(fmt::format("edge list file \"{}\" not found (looked for {})",
                                clip(*file.value), clip(resolved.string())));
        topo.file = resolved.string();
      }

      if (auto lookahead = get<double>(t, path, "lookahead"); lookahead.value) {
        if (*lookahead.value < 0)
          lookahead.fail(
              fmt::format("must be >= 0 (got {})", to_string(ParamValue(*lookahead.value))));
        link.lookahead = *lookahead.value;
      }
      if (auto weight = get<double>(t, path, "weight"); weight.value) {
        if (!(*weight.value > 0))
          weight.fail(fmt::format("must be > 0 (got {})", to_string(ParamValue(*weight.value))));
        link.weight = *weight.value;
      }

      try {
        config::check_topology(topo, from->count, to->count, from == to);
      } catch (const Error& e) {
        fail(link.location, path, e.what());
      }
      spec.links.push_back(std::move(link));
    }
  }

  void read_output(const toml::table& doc, ModelSpec& spec) {
    OutputSpec& out = spec.output;
    const toml::table* t = subtable(doc, "", "output");
    if (t == nullptr) {
      out.location = file_only();
      return;
    }
    check_keys(*t, "output", kOutputKeys);
    out.location = where(*t);
    if (auto dir = get<std::string>(*t, "output", "directory"); dir.value) {
      if (dir.value->empty()) dir.fail("must not be empty");
      out.directory = *dir.value;
    }
    if (auto interval = get<double>(*t, "output", "sample_interval"); interval.value) {
      if (*interval.value < 0)
        interval.fail(fmt::format("must be >= 0 (got {})", to_string(ParamValue(*interval.value))));
      out.sample_interval = *interval.value;
    }
    if (auto formats = get<std::vector<std::string>>(*t, "output", "formats"); formats.value) {
      out.formats.clear();
      for (std::size_t i = 0; i < formats.value->size(); ++i) {
        const std::string& f = (*formats.value)[i];
        const toml::node& element = *t->get("formats")->as_array()->get(i);
        if (!contains(config::kOutputFormats, f))
          fail(where(element), indexed(formats.key, i),
               fmt::format("unknown output format '{}'{} (expected {})", clip(f),
                           did_you_mean(f, config::kOutputFormats),
                           join_names(config::kOutputFormats)));
        if (std::find(out.formats.begin(), out.formats.end(), f) != out.formats.end())
          fail(where(element), indexed(formats.key, i),
               fmt::format("output format '{}' listed twice", clip(f)));
        out.formats.push_back(f);
      }
    }
  }

  void read_checkpoint(const toml::table& doc, ModelSpec& spec) const {
    CheckpointSpec& c = spec.checkpoint;
    const toml::table* t = subtable(doc, "", "checkpoint");
    if (t == nullptr) {
      c.location = file_only();
      return;
    }
    check_keys(*t, "checkpoint", kCheckpointKeys);
    c.location = where(*t);
    if (auto every = get<double>(*t, "checkpoint", "every"); every.value) {
      if (*every.value < 0)
        every.fail(fmt::format("must be >= 0 (got {})", to_string(ParamValue(*every.value))));
      c.every = *every.value;
    }
    read_wall_every(*t, c);
    if (auto dir = get<std::string>(*t, "checkpoint", "directory"); dir.value) {
      if (dir.value->empty())
        dir.fail("must not be empty (leave it out for the output directory + \".checkpoints\")");
      c.directory = *dir.value;
    }
    if (auto keep = get<std::int64_t>(*t, "checkpoint", "keep"); keep.value) {
      if (*keep.value < 1) keep.fail(fmt::format("must be >= 1 (got {})", *keep.value));
      if (*keep.value > std::numeric_limits<std::uint32_t>::max())
        keep.fail(fmt::format("too large (got {})", *keep.value));
      c.keep = static_cast<std::uint32_t>(*keep.value);
    }
  }

  // Seconds as a number, or a duration string ("90s", "10m", "1.5h").
  void read_wall_every(const toml::table& checkpoint, CheckpointSpec& c) const {
    const toml::node* node = checkpoint.get("wall_every");
    if (node == nullptr) return;
    const std::string key = "checkpoint.wall_every";
    std::optional<double> seconds;
    if (auto i = node->value_exact<std::int64_t>()) {
      seconds = static_cast<double>(*i);
    } else if (auto d = node->value_exact<double>()) {
      seconds = *d;
    } else if (auto text = node->value_exact<std::string>()) {
      seconds = parse_duration(*text);
      if (!seconds)
        fail(where(*node), key,
             fmt::format("not a duration: {} (write seconds as a number, or a number and a "
                         "unit s, m or h, e.g. \"90s\", \"10m\", \"1.5h\")",
                         node_text(*node)));
    } else {
      fail(where(*node), key,
           fmt::format("expected a number of seconds or a duration string, got {} {}",
                       type_name(*node), node_text(*node)));
    }
    if (!std::isfinite(*seconds))
      fail(where(*node), key, fmt::format("must be a finite number (got {})", node_text(*node)));
    if (*seconds < 0)
      fail(where(*node), key, fmt::format("must be >= 0 (got {})", node_text(*node)));
    c.wall_every = *seconds;
  }

  std::string path_;
  fs::path dir_;
  std::string_view groups_key_ = "entities";
  // Nodes written by --set, with the override's text.
  std::unordered_map<const toml::node*, std::string> overridden_;
};

}  // namespace

std::optional<double> parse_duration(std::string_view text) {
  text = trim(text);
  std::size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'))
    ++i;
  const std::string_view number = text.substr(0, i);
  if (number.empty() || number.front() == '.' || number.back() == '.' ||
      std::count(number.begin(), number.end(), '.') > 1)
    return std::nullopt;
  const std::string_view unit = trim(text.substr(i));
  double factor = 0;
  if (unit.empty() || unit == "s")
    factor = 1;
  else if (unit == "m")
    factor = 60;
  else if (unit == "h")
    factor = 3600;
  else
    return std::nullopt;
  double value = 0;
  const auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
  if (ec != std::errc{} || end != number.data() + number.size()) return std::nullopt;
  const double seconds = value * factor;
  if (!std::isfinite(seconds)) return std::nullopt;
  return seconds;
}

ModelSpec load_model(const std::string& path, const std::vector<std::string>& overrides) {
  return Loader(path, fs::path(path).parent_path()).load(parse_config_file(path), overrides);
}

ModelSpec model_from_json(std::string_view json, const std::string& name,
                          const std::vector<std::string>& overrides) {
  return Loader(name, fs::path()).load(config::table_from_json(json, name), overrides);
}

}  // namespace dsim
