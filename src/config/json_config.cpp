#include "config/json_config.hpp"

#include <fmt/format.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <variant>
#include <nlohmann/json.hpp>

#include "dsim/message.hpp"
#include "dsim/types.hpp"

namespace dsim::config {
namespace {

using Json = nlohmann::json;

// The deepest legitimate value is a parameter: document, entities, a group,
// params, the value. Deeper text is not a model; refusing it keeps the
// recursion below shallow whatever the input.
constexpr int kMaxDepth = 16;

std::string child(std::string_view path, std::string_view key) {
  return path.empty() ? std::string(key) : fmt::format("{}.{}", path, key);
}

std::string indexed(std::string_view path, std::size_t i) { return fmt::format("{}[{}]", path, i); }

class Converter {
 public:
  explicit Converter(const std::string& name) : name_(name) {}

  toml::table document(const Json& json) const {
    if (!json.is_object())
      throw Error(fmt::format("{}: expected a model as a JSON object, got {}", name_,
                              with_article(json.type_name())));
    toml::table doc;
    for (const auto& [key, value] : json.items()) {
      if (key == "file" || key == "validated") continue;
      if (key == "links" && value.is_array()) {
        doc.insert(key, links(value));
        continue;
      }
      convert(value, key, 1, [&](auto&& node) { doc.insert(key, std::move(node)); });
    }
    // An empty directory is the default, which a config says by leaving it out.
    if (toml::table* checkpoint = doc.get_as<toml::table>("checkpoint")) {
      const auto* directory = checkpoint->get_as<std::string>("directory");
      if (directory != nullptr && directory->get().empty()) checkpoint->erase("directory");
    }
    return doc;
  }

 private:
  [[noreturn]] void fail(std::string_view path, std::string_view message) const {
    throw Error(fmt::format("{}: {}: {}", name_, clip(path), message));
  }

  static std::string with_article(std::string_view noun) {
    const bool vowel =
        !noun.empty() && std::string_view("aeiou").find(noun[0]) != std::string_view::npos;
    return fmt::format("{} {}", vowel ? "an" : "a", noun);
  }

  // Each link's "topology" object spread into the link, as [[links]] writes it.
  toml::array links(const Json& json) const {
    toml::array out;
    for (std::size_t i = 0; i < json.size(); ++i) {
      const Json& link = json[i];
      const std::string path = indexed("links", i);
      if (!link.is_object()) {
        convert(link, path, 2, [&](auto&& node) { out.push_back(std::move(node)); });
        continue;
      }
      toml::table t;
      for (const auto& [key, value] : link.items()) {
        if (key == "topology" && value.is_object()) continue;
        convert(value, child(path, key), 3, [&](auto&& node) { t.insert(key, std::move(node)); });
      }
      if (const auto topology = link.find("topology");
          topology != link.end() && topology->is_object()) {
        const std::string topology_path = child(path, "topology");
        const auto kind = topology->find("kind");
        if (kind == topology->end() || !kind->is_string())
          fail(child(topology_path, "kind"), "expected the topology's kind as a string");
        t.insert("topology", kind->get<std::string>());
        for (const auto& [key, value] : topology->items()) {
          if (key == "kind") continue;
          if (t.contains(key))
            fail(child(topology_path, key),
                 fmt::format("given both in the topology and in the link as '{}'", clip(key)));
          convert(value, child(topology_path, key), 4,
                  [&](auto&& node) { t.insert(key, std::move(node)); });
        }
      }
      out.push_back(std::move(t));
    }
    return out;
  }

  // `json` as a TOML value; nullopt for null (an object member that is null
  // is left out). Not a template over a callback: a recursive template
  // would instantiate itself without end.
  using Value = std::variant<bool, std::int64_t, double, std::string, toml::array, toml::table>;

  std::optional<Value> value_of(const Json& json, const std::string& path, int depth) const {
    if (depth > kMaxDepth) fail(path, "nested deeper than any model's values");
    switch (json.type()) {
      case Json::value_t::null:
        return std::nullopt;
      case Json::value_t::boolean:
        return Value(json.get<bool>());
      case Json::value_t::number_integer:
        return Value(json.get<std::int64_t>());
      case Json::value_t::number_unsigned: {
        const auto value = json.get<std::uint64_t>();
        if (value <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
          return Value(static_cast<std::int64_t>(value));
        if (path == "simulation.seed" || path == "simulation.topology_seed")
          return Value(std::to_string(value));  // as a config writes a seed above 2^63-1
        fail(path, fmt::format("{} is too large (at most {})", value,
                               std::numeric_limits<std::int64_t>::max()));
      }
      case Json::value_t::number_float:
        return Value(json.get<double>());
      case Json::value_t::string:
        return Value(json.get<std::string>());
      case Json::value_t::array: {
        toml::array array;
        for (std::size_t i = 0; i < json.size(); ++i) {
          if (json[i].is_null()) fail(indexed(path, i), "expected a value, got null");
          convert(json[i], indexed(path, i), depth + 1,
                  [&](auto&& node) { array.push_back(std::move(node)); });
        }
        return Value(std::move(array));
      }
      case Json::value_t::object: {
        toml::table table;
        for (const auto& [key, value] : json.items())
          convert(value, child(path, key), depth + 1,
                  [&](auto&& node) { table.insert(key, std::move(node)); });
        return Value(std::move(table));
      }
      case Json::value_t::binary:
      case Json::value_t::discarded:
        break;
    }
    fail(path, fmt::format("expected a config value, got {}", with_article(json.type_name())));
  }

  // Hands `json` as a TOML node to `put` (not called for null).
  template <class Put>
  void convert(const Json& json, const std::string& path, int depth, Put&& put) const {
    std::optional<Value> value = value_of(json, path, depth);
    if (value) std::visit([&](auto&& node) { put(std::move(node)); }, std::move(*value));
  }

  const std::string& name_;
};

}  // namespace

toml::table table_from_json(std::string_view json, const std::string& name) {
  Json parsed;
  try {
    parsed = Json::parse(json);
  } catch (const Json::exception& e) {
    // "[json.exception.parse_error.101] parse error at line 1, column 2: ..."
    std::string_view what = e.what();
    if (const std::size_t end = what.find("] "); what.starts_with("[json.") && end != what.npos)
      what.remove_prefix(end + 2);
    throw Error(fmt::format("{}: not a model in JSON: {}", name, clip(what, kClipMessageChars)));
  }
  return Converter(name).document(parsed);
}

}  // namespace dsim::config
