#include "dsim/params.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <type_traits>

#include "dsim/message.hpp"

namespace dsim {
namespace {

std::string_view type_of(const ParamValue& value) {
  switch (value.index()) {
    case 0:
      return to_string(ParamType::kBool);
    case 1:
      return to_string(ParamType::kInt);
    case 2:
      return to_string(ParamType::kReal);
    default:
      return to_string(ParamType::kString);
  }
}

// TOML-style quoting, so a value reads the way it would be written in a config.
std::string quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += fmt::format("\\u{:04X}", static_cast<unsigned>(c));
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

// Shortest text that reads back as the same double, with a ".0" when it would
// otherwise look like an integer.
std::string real_text(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  std::string s(buf, end);
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

template <class T>
constexpr ParamType param_type_of() {
  if constexpr (std::is_same_v<T, bool>) return ParamType::kBool;
  if constexpr (std::is_same_v<T, std::int64_t>) return ParamType::kInt;
  if constexpr (std::is_same_v<T, double>) return ParamType::kReal;
  if constexpr (std::is_same_v<T, std::string>) return ParamType::kString;
  if constexpr (std::is_same_v<T, Distribution>) return ParamType::kDistribution;
}

}  // namespace

std::string_view to_string(ParamType type) {
  switch (type) {
    case ParamType::kBool:
      return "bool";
    case ParamType::kInt:
      return "int";
    case ParamType::kReal:
      return "real";
    case ParamType::kString:
      return "string";
    case ParamType::kDistribution:
      return "distribution";
  }
  return "?";
}

std::string to_string(const ParamValue& value) {
  return std::visit(
      [](const auto& v) -> std::string {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, bool>) return v ? "true" : "false";
        if constexpr (std::is_same_v<T, std::int64_t>) return std::to_string(v);
        if constexpr (std::is_same_v<T, double>) return real_text(v);
        if constexpr (std::is_same_v<T, std::string>) return quote(v);
      },
      value);
}

// ---- ParamSpec ------------------------------------------------------------

ParamSpec& ParamSpec::push(ParamDecl decl) {
  if (decl.name.empty()) throw Error("parameter declared with an empty name");
  if (find(decl.name) != nullptr)
    throw Error(fmt::format("parameter '{}' declared twice", decl.name));
  decls_.push_back(std::move(decl));
  return *this;
}

ParamSpec& ParamSpec::add(std::string name, bool def, std::string doc) {
  return push({std::move(name), ParamType::kBool, ParamValue(def), std::move(doc)});
}

ParamSpec& ParamSpec::add(std::string name, std::int64_t def, std::string doc) {
  return push({std::move(name), ParamType::kInt, ParamValue(def), std::move(doc)});
}

ParamSpec& ParamSpec::add(std::string name, double def, std::string doc) {
  return push({std::move(name), ParamType::kReal, ParamValue(def), std::move(doc)});
}

ParamSpec& ParamSpec::add(std::string name, const char* def, std::string doc) {
  return push({std::move(name), ParamType::kString, ParamValue(std::string(def)), std::move(doc)});
}

ParamSpec& ParamSpec::add_distribution(std::string name, std::string def, std::string doc) {
  // A bad default is a bug in the entity type: report it when the type is
  // registered, not when some config happens to rely on the default.
  try {
    (void)Distribution::parse(def);
  } catch (const Error& e) {
    throw Error(fmt::format("parameter '{}': default {} is not a valid distribution: {}", name,
                            clip(quote(def)), clip(e.what(), kClipMessageChars)));
  }
  return push(
      {std::move(name), ParamType::kDistribution, ParamValue(std::move(def)), std::move(doc)});
}

template <class T>
ParamSpec& ParamSpec::required(std::string name, std::string doc) {
  return push({std::move(name), param_type_of<T>(), std::nullopt, std::move(doc)});
}

template ParamSpec& ParamSpec::required<bool>(std::string, std::string);
template ParamSpec& ParamSpec::required<std::int64_t>(std::string, std::string);
template ParamSpec& ParamSpec::required<double>(std::string, std::string);
template ParamSpec& ParamSpec::required<std::string>(std::string, std::string);
template ParamSpec& ParamSpec::required<Distribution>(std::string, std::string);

const ParamDecl* ParamSpec::find(std::string_view name) const {
  for (const ParamDecl& d : decls_)
    if (d.name == name) return &d;
  return nullptr;
}

// ---- Params ---------------------------------------------------------------

const ParamValue& Params::at(std::string_view name) const {
  auto it = values_.find(name);
  if (it == values_.end()) throw Error(fmt::format("parameter '{}' is not set", clip(name)));
  return it->second;
}

namespace {
[[noreturn]] void wrong_type(std::string_view name, const ParamValue& v, ParamType wanted) {
  throw Error(fmt::format("parameter '{}' is a {} ({}), not a {}", name, type_of(v),
                          clip(to_string(v)), to_string(wanted)));
}
}  // namespace

bool Params::get_bool(std::string_view name) const {
  const ParamValue& v = at(name);
  if (const bool* b = std::get_if<bool>(&v)) return *b;
  wrong_type(name, v, ParamType::kBool);
}

std::int64_t Params::get_int(std::string_view name) const {
  const ParamValue& v = at(name);
  if (const std::int64_t* i = std::get_if<std::int64_t>(&v)) return *i;
  wrong_type(name, v, ParamType::kInt);
}

double Params::get_real(std::string_view name) const {
  const ParamValue& v = at(name);
  if (const double* d = std::get_if<double>(&v)) return *d;
  if (const std::int64_t* i = std::get_if<std::int64_t>(&v)) return static_cast<double>(*i);
  wrong_type(name, v, ParamType::kReal);
}

const std::string& Params::get_string(std::string_view name) const {
  const ParamValue& v = at(name);
  if (const std::string* s = std::get_if<std::string>(&v)) return *s;
  wrong_type(name, v, ParamType::kString);
}

Distribution Params::get_distribution(std::string_view name) const {
  const ParamValue& v = at(name);
  const std::string* s = std::get_if<std::string>(&v);
  if (s == nullptr) wrong_type(name, v, ParamType::kDistribution);
  try {
    return Distribution::parse(*s);
  } catch (const Error& e) {
    // (The parser's message may repeat the whole text.)
    throw Error(fmt::format("parameter '{}': {}: {}", name, clip(quote(*s)),
                            clip(e.what(), kClipMessageChars)));
  }
}

}  // namespace dsim
