// Parameters of an entity type: declared by the type (name, type, default,
// one-line doc) so `dsim list` can print them and the config loader can check
// a group's `params` table before anything runs.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "dsim/distribution.hpp"
#include "dsim/export.hpp"
#include "dsim/types.hpp"

namespace dsim {

enum class ParamType { kBool, kInt, kReal, kString, kDistribution };

DSIM_API std::string_view to_string(ParamType type);

// A parameter value as written in a config. Distributions are kept as text and
// parsed when read (the loader parses them once at validation to report errors).
using ParamValue = std::variant<bool, std::int64_t, double, std::string>;

DSIM_API std::string to_string(const ParamValue& value);

struct ParamDecl {
  std::string name;
  ParamType type;
  std::optional<ParamValue> default_value;  // empty: the parameter is required
  std::string doc;
};

// The list of parameters an entity type accepts.
//   static void declare(dsim::ParamSpec& p) {
//     p.add("remote", 0.1, "probability that the next event goes to a random entity");
//     p.add_distribution("service", "exp(mean=1)", "service time");
//     p.required<std::int64_t>("servers", "number of servers");
//   }
class DSIM_API ParamSpec {
 public:
  ParamSpec& add(std::string name, bool def, std::string doc);
  ParamSpec& add(std::string name, std::int64_t def, std::string doc);
  ParamSpec& add(std::string name, int def, std::string doc) {
    return add(std::move(name), static_cast<std::int64_t>(def), std::move(doc));
  }
  ParamSpec& add(std::string name, double def, std::string doc);
  ParamSpec& add(std::string name, const char* def, std::string doc);
  ParamSpec& add_distribution(std::string name, std::string def, std::string doc);
  // A parameter without default; T is bool, std::int64_t, double, std::string
  // or Distribution.
  template <class T>
  ParamSpec& required(std::string name, std::string doc);

  const std::vector<ParamDecl>& decls() const { return decls_; }
  const ParamDecl* find(std::string_view name) const;

 private:
  ParamSpec& push(ParamDecl decl);
  std::vector<ParamDecl> decls_;
};

// Resolved parameter values of one group: every declared parameter present,
// each with the declared type (ints given for reals are widened by the loader).
class DSIM_API Params {
 public:
  Params() = default;
  explicit Params(std::map<std::string, ParamValue, std::less<>> values)
      : values_(std::move(values)) {}

  bool contains(std::string_view name) const { return values_.find(name) != values_.end(); }
  // Throws dsim::Error naming the parameter if it is absent or of another type.
  bool get_bool(std::string_view name) const;
  std::int64_t get_int(std::string_view name) const;
  double get_real(std::string_view name) const;
  const std::string& get_string(std::string_view name) const;
  Distribution get_distribution(std::string_view name) const;

  const std::map<std::string, ParamValue, std::less<>>& values() const { return values_; }
  void set(std::string name, ParamValue value) { values_[std::move(name)] = std::move(value); }

 private:
  const ParamValue& at(std::string_view name) const;
  std::map<std::string, ParamValue, std::less<>> values_;
};

}  // namespace dsim
