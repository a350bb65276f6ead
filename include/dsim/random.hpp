// Per-entity, counter-based random streams (DESIGN.md invariant 4).
//
// Each entity owns one stream keyed by (seed, entity id, stream number). The
// stream's only state is a 64-bit draw counter that lives in the entity's saved
// block, so restoring or rolling back an entity reproduces the same draws, and
// the values drawn never depend on which thread or process runs the entity.
//
// Thread safety: a Random is used by one handler at a time (the engine binds
// it to the entity being run). Distinct entities never share a counter.
#pragma once

#include <Random123/philox.h>

#include <cmath>
#include <cstdint>

#include "dsim/types.hpp"

namespace dsim {

class Random {
 public:
  // Binds to `counter`, which the caller owns and must outlive the Random.
  Random(std::uint64_t seed, EntityId entity, std::uint32_t stream,
         std::uint64_t* counter)
      : key_{{seed}},
        stream_id_((static_cast<std::uint64_t>(entity) << 32) | stream),
        counter_(counter) {}
  Random() = default;

  // 64 uniformly random bits; advances the counter by one.
  std::uint64_t bits() {
    r123::Philox2x64::ctr_type c{{(*counter_)++, stream_id_}};
    return r123::Philox2x64()(c, key_)[0];
  }

  // Uniform on [0, 1), 53-bit resolution.
  double uniform() { return static_cast<double>(bits() >> 11) * 0x1.0p-53; }
  // Uniform on (0, 1]: safe to take the log of.
  double uniform_pos() {
    return static_cast<double>((bits() >> 11) + 1) * 0x1.0p-53;
  }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }

  // Exponential with the given mean (mean > 0).
  double exponential(double mean) { return -mean * std::log(uniform_pos()); }

  // Normal by Box-Muller; uses two draws, caches nothing (keeps state tiny).
  double normal(double mean = 0.0, double stddev = 1.0) {
    const double r = std::sqrt(-2.0 * std::log(uniform_pos()));
    return mean + stddev * r * std::cos(2.0 * 3.14159265358979323846 * uniform());
  }
  double lognormal(double mu, double sigma) {
    return std::exp(normal(mu, sigma));
  }
  bool bernoulli(double p) { return uniform() < p; }

  // Uniform integer in [lo, hi] (inclusive), unbiased (Lemire's method).
  std::int64_t integer(std::int64_t lo, std::int64_t hi);
  // Uniform integer in [0, n), n > 0.
  std::uint64_t below(std::uint64_t n);

  // Poisson with the given mean (>= 0).
  std::uint64_t poisson(double mean);

  std::uint64_t counter() const { return *counter_; }

 private:
  r123::Philox2x64::key_type key_{};
  std::uint64_t stream_id_ = 0;
  std::uint64_t* counter_ = nullptr;
};

inline std::uint64_t Random::below(std::uint64_t n) {
  // Lemire: multiply-shift with rejection of the biased low range.
  detail::UInt128 m = static_cast<detail::UInt128>(bits()) * n;
  auto low = static_cast<std::uint64_t>(m);
  if (low < n) {
    const std::uint64_t threshold = (0 - n) % n;
    while (low < threshold) {
      m = static_cast<detail::UInt128>(bits()) * n;
      low = static_cast<std::uint64_t>(m);
    }
  }
  return static_cast<std::uint64_t>(m >> 64);
}

inline std::int64_t Random::integer(std::int64_t lo, std::int64_t hi) {
  const auto span = static_cast<std::uint64_t>(hi) - static_cast<std::uint64_t>(lo);
  if (span == UINT64_MAX) return static_cast<std::int64_t>(bits());
  return lo + static_cast<std::int64_t>(below(span + 1));
}

inline std::uint64_t Random::poisson(double mean) {
  if (mean <= 0.0) return 0;
  if (mean < 30.0) {  // Knuth: multiply uniforms until below e^-mean
    const double limit = std::exp(-mean);
    std::uint64_t k = 0;
    double p = uniform_pos();
    while (p > limit) {
      ++k;
      p *= uniform_pos();
    }
    return k;
  }
  // Hörmann's PTRS transformed rejection, exact for large means.
  const double slam = std::sqrt(mean), loglam = std::log(mean);
  const double b = 0.931 + 2.53 * slam, a = -0.059 + 0.02483 * b;
  const double inv_alpha = 1.1239 + 1.1328 / (b - 3.4), vr = 0.9277 - 3.6224 / (b - 2);
  for (;;) {
    const double u = uniform() - 0.5, v = uniform_pos();
    const double us = 0.5 - std::fabs(u);
    const double k = std::floor((2 * a / us + b) * u + mean + 0.43);
    if (us >= 0.07 && v <= vr) return static_cast<std::uint64_t>(k);
    if (k < 0 || (us < 0.013 && v > us)) continue;
    if (std::log(v * inv_alpha / (a / (us * us) + b)) <=
        -mean + k * loglam - std::lgamma(k + 1))
      return static_cast<std::uint64_t>(k);
  }
}

}  // namespace dsim
