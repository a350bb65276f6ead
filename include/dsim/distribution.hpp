// Random-variate distributions named by a short string, as written in configs:
//   "exp(mean=2)"  "exp(rate=0.5)"  "uniform(1,3)"  "const(1)"
//   "normal(mean=0, sd=1)"  "lognormal(mu=0, sigma=0.5)"  "erlang(k=3, mean=1)"
//   "gamma(shape=2, scale=1)"  "weibull(shape=1.5, scale=1)"
//   "triangular(min=0, mode=1, max=3)"
// Arguments are positional or named (not mixed); whitespace is ignored.
//
// A Distribution is an immutable value (cheap to copy); sample() draws from
// the entity's own Random, so it is deterministic and rollback-safe.
#pragma once

#include <array>
#include <string>
#include <string_view>

#include "dsim/export.hpp"
#include "dsim/random.hpp"

namespace dsim {

class DSIM_API Distribution {
 public:
  enum class Kind { kConst, kExponential, kUniform, kNormal, kLognormal, kErlang,
                    kGamma, kWeibull, kTriangular };

  Distribution() = default;  // const(0)

  // Parses `text`. Throws dsim::Error whose message says what is wrong with
  // the text (unknown name, wrong or missing argument, out-of-range value);
  // callers prefix it with the file and key.
  static Distribution parse(std::string_view text);

  static Distribution constant(double value);
  static Distribution exponential(double mean);

  double sample(Random& rng) const;
  double mean() const;
  Kind kind() const { return kind_; }
  // Canonical text, e.g. "exp(mean=2)"; parse(to_string()) round-trips.
  std::string to_string() const;

 private:
  Kind kind_ = Kind::kConst;
  std::array<double, 3> a_{};  // kind-specific parameters
};

}  // namespace dsim
