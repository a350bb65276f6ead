// Design points (full factorial, Latin hypercube, random), run seeds and the
// Student t quantile (include/dsim/experiment.hpp). Everything here is a pure
// function of its arguments, with its own random stream (splitmix64), so a
// design is the same on every machine and compiler.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "dsim/experiment.hpp"
#include "dsim/types.hpp"
#include "experiment/values.hpp"

namespace dsim {
namespace {

using experiment_detail::float_literal;
using experiment_detail::label_of;

std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// A splitmix64 stream: uniform doubles in [0, 1) and bounded integers.
struct Stream {
  std::uint64_t state;
  std::uint64_t next() { return mix(state++); }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  std::uint64_t below(std::uint64_t n) {  // unbiased enough: 64-bit multiply-high
    return static_cast<std::uint64_t>((static_cast<detail::UInt128>(next()) * n) >> 64);
  }
};

// A value of factor `f` at `u` in [0, 1).
std::string value_at(const Factor& f, double u) {
  if (!f.range) {
    const auto i = std::min<std::size_t>(static_cast<std::size_t>(u * f.values.size()),
                                         f.values.size() - 1);
    return f.values[i];
  }
  double v = f.log ? std::exp(std::log(f.lo) + u * (std::log(f.hi) - std::log(f.lo)))
                   : f.lo + u * (f.hi - f.lo);
  if (f.integer) {
    // Integers lo..hi, each with an equal share of [0, 1).
    const double span = f.hi - f.lo + 1;
    v = std::min(f.hi, f.lo + std::floor(u * span));
    return fmt::format("{}", static_cast<std::int64_t>(v));
  }
  return float_literal(std::clamp(v, f.lo, f.hi));
}

// The regularized incomplete beta function I_x(a, b) (continued fraction,
// modified Lentz).
double incomplete_beta(double x, double a, double b) {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  if (x > (a + 1) / (a + b + 2)) return 1 - incomplete_beta(1 - x, b, a);
  const double front =
      std::exp(std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) +
               b * std::log1p(-x)) /
      a;
  constexpr double tiny = 1e-300;
  double f = 1, c = 1, d = 0;
  for (int i = 0; i <= 400; ++i) {
    const int m = i / 2;
    double numerator;
    if (i == 0) numerator = 1;
    else if (i % 2 == 0) numerator = (m * (b - m) * x) / ((a + 2.0 * m - 1) * (a + 2.0 * m));
    else numerator = -((a + m) * (a + b + m) * x) / ((a + 2.0 * m) * (a + 2.0 * m + 1));
    d = 1 + numerator * d;
    if (std::abs(d) < tiny) d = tiny;
    d = 1 / d;
    c = 1 + numerator / c;
    if (std::abs(c) < tiny) c = tiny;
    const double cd = c * d;
    f *= cd;
    if (std::abs(1 - cd) < 1e-15) break;
  }
  return front * (f - 1);
}

}  // namespace

std::vector<DesignPoint> design_points(const Experiment& e) {
  std::vector<DesignPoint> points;
  auto add = [&](std::vector<std::string> values) {
    DesignPoint p;
    for (const std::string& v : values) p.labels.push_back(label_of(v));
    p.values = std::move(values);
    points.push_back(std::move(p));
  };
  if (e.design == "factorial") {
    for (const Factor& f : e.factors)
      if (f.values.empty())
        throw Error(fmt::format("{}: a range without a step has no values for a factorial "
                                "design (give a step, or use linspace, or an lhs/random design)",
                                f.where));
    std::uint64_t total = 1;
    for (const Factor& f : e.factors) {
      total *= f.values.size();
      if (total > 10'000'000)
        throw Error(fmt::format("{}: the full factorial design has more than 10,000,000 points",
                                e.file.empty() ? std::string("--vary") : e.file));
    }
    // Nested loops, the first factor outermost.
    std::vector<std::size_t> at(e.factors.size(), 0);
    for (std::uint64_t n = 0; n < total; ++n) {
      std::vector<std::string> values;
      for (std::size_t i = 0; i < e.factors.size(); ++i) values.push_back(e.factors[i].values[at[i]]);
      add(std::move(values));
      for (std::size_t i = e.factors.size(); i-- > 0;) {
        if (++at[i] < e.factors[i].values.size()) break;
        at[i] = 0;
      }
    }
    return points;
  }
  if (e.design == "points") {
    const std::size_t n = e.factors.empty() ? 0 : e.factors.front().values.size();
    for (const Factor& f : e.factors)
      if (f.values.size() != n)
        throw Error(fmt::format("{}: a points design needs as many values for every factor "
                                "({} has {}, {} has {})",
                                f.where, e.factors.front().key, n, f.key, f.values.size()));
    for (std::size_t i = 0; i < n; ++i) {
      std::vector<std::string> values;
      for (const Factor& f : e.factors) values.push_back(f.values[i]);
      add(std::move(values));
    }
    return points;
  }
  if (e.points == 0) throw Error(fmt::format("{}: a {} design needs a point count", e.file, e.design));
  Stream s{mix(e.design_seed ^ 0x6a09e667f3bcc909ULL)};
  const std::size_t n = e.points, k = e.factors.size();
  // u[i][j]: factor j of point i, in [0, 1).
  std::vector<std::vector<double>> u(n, std::vector<double>(k));
  for (std::size_t j = 0; j < k; ++j) {
    if (e.design == "random") {
      for (std::size_t i = 0; i < n; ++i) u[i][j] = s.uniform();
      continue;
    }
    // Latin hypercube: each of the n strata of every factor holds one point.
    std::vector<std::size_t> strata(n);
    std::iota(strata.begin(), strata.end(), 0);
    for (std::size_t i = n; i > 1; --i) std::swap(strata[i - 1], strata[s.below(i)]);
    for (std::size_t i = 0; i < n; ++i)
      u[i][j] = (static_cast<double>(strata[i]) + s.uniform()) / static_cast<double>(n);
  }
  for (std::size_t i = 0; i < n; ++i) {
    std::vector<std::string> values;
    for (std::size_t j = 0; j < k; ++j) values.push_back(value_at(e.factors[j], u[i][j]));
    add(std::move(values));
  }
  return points;
}

std::uint64_t run_seed(const Experiment& e, std::uint64_t base, std::uint32_t point,
                       std::uint32_t replication) {
  const std::uint64_t stream = e.common_random_numbers ? base : mix(base ^ mix(point + 1ULL));
  // Kept below 2^63: a seed is written into TOML, whose integers are signed.
  return mix(stream ^ mix(0x5851f42d4c957f2dULL + replication)) >> 1;
}

double student_t_quantile(double confidence, double df) {
  if (!(confidence > 0 && confidence < 1)) return std::numeric_limits<double>::quiet_NaN();
  const double tail = 1 - confidence;  // P(|T| > t)
  if (!(df > 0) || df > 1e7) {
    // The normal's: P(|Z| > z) = erfc(z / sqrt 2).
    double lo = 0, hi = 40;
    for (int i = 0; i < 200; ++i) {
      const double mid = (lo + hi) / 2;
      (std::erfc(mid / std::sqrt(2.0)) > tail ? lo : hi) = mid;
    }
    return (lo + hi) / 2;
  }
  // P(|T| > t) = I_{df / (df + t^2)}(df / 2, 1 / 2), decreasing in t.
  double lo = 0, hi = 1;
  while (incomplete_beta(df / (df + hi * hi), df / 2, 0.5) > tail && hi < 1e12) hi *= 2;
  for (int i = 0; i < 200; ++i) {
    const double mid = (lo + hi) / 2;
    (incomplete_beta(df / (df + mid * mid), df / 2, 0.5) > tail ? lo : hi) = mid;
    if (hi - lo <= 1e-15 * hi) break;
  }
  return (lo + hi) / 2;
}

}  // namespace dsim
