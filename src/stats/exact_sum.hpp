// ExactSum: an order-independent sum of doubles.
//
// Values are added into a 256-bit two's-complement fixed-point number with 128
// integer and 128 fraction bits. Integer addition is associative, so partial
// sums from any number of partitions, threads or processes, combined in any
// order, give the same bits: this is what keeps reduced statistics identical
// on every layout (DESIGN.md invariant 1). Bits below 2^-128 are truncated
// (toward zero, per value, so deterministically); magnitudes >= 2^127 and
// non-finite values set a sticky flag and make value() return NaN / inf.
#pragma once

#include <array>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>

#include "dsim/types.hpp"

namespace dsim::detail {

class ExactSum {
 public:
  void add(double x) {
    const auto bits = std::bit_cast<std::uint64_t>(x);
    const int biased = static_cast<int>((bits >> 52) & 0x7ff);
    std::uint64_t mant = bits & ((std::uint64_t{1} << 52) - 1);
    if (biased == 0x7ff) {
      nonfinite_ |= mant ? 2 : ((bits >> 63) ? 4 : 1);  // nan : -inf : +inf
      return;
    }
    if (biased == 0 && mant == 0) return;
    int exponent;  // |x| = mant * 2^exponent
    if (biased == 0) {
      exponent = -1074;
    } else {
      mant |= std::uint64_t{1} << 52;
      exponent = biased - 1075;
    }
    int shift = exponent + 128;  // bit position of mant's lowest bit
    if (shift < 0) {
      if (shift <= -64) return;
      mant >>= -shift;
      shift = 0;
      if (mant == 0) return;
    }
    if (shift + 53 > 255) {
      nonfinite_ |= 8;  // overflow
      return;
    }
    std::uint64_t v[4] = {0, 0, 0, 0};
    const int limb = shift / 64, off = shift % 64;
    v[limb] = mant << off;
    if (off != 0 && limb + 1 < 4) v[limb + 1] = mant >> (64 - off);
    if (bits >> 63)
      sub(v);
    else
      add(v);
  }

  void merge(const ExactSum& o) {
    add(o.w_);
    nonfinite_ |= o.nonfinite_;
  }
  void subtract(const ExactSum& o) {
    sub(o.w_);
    nonfinite_ |= o.nonfinite_;
  }

  // The sum rounded to double (deterministically).
  double value() const {
    if (nonfinite_ & (2 | 8)) return std::numeric_limits<double>::quiet_NaN();
    if ((nonfinite_ & 1) && (nonfinite_ & 4)) return std::numeric_limits<double>::quiet_NaN();
    if (nonfinite_ & 1) return std::numeric_limits<double>::infinity();
    if (nonfinite_ & 4) return -std::numeric_limits<double>::infinity();
    std::uint64_t m[4] = {w_[0], w_[1], w_[2], w_[3]};
    const bool negative = m[3] >> 63;
    if (negative) {  // magnitude = -w
      std::uint64_t carry = 1;
      for (auto& limb : m) {
        limb = ~limb + carry;
        carry = (carry && limb == 0) ? 1 : 0;
      }
    }
    long double r = 0;
    for (int i = 3; i >= 0; --i) r = r * 0x1.0p64L + static_cast<long double>(m[i]);
    const double out = static_cast<double>(std::ldexp(r, -128));
    return negative ? -out : out;
  }
  bool operator==(const ExactSum&) const = default;

  // The sum as words, for moving it between processes (stats/partials.hpp):
  // the four limbs of the fixed-point number, lowest first, then the sticky
  // non-finite flags. from_words(s.words()) == s.
  static constexpr std::size_t kWords = 5;
  std::array<std::uint64_t, kWords> words() const {
    return {w_[0], w_[1], w_[2], w_[3], nonfinite_};
  }
  static ExactSum from_words(const std::array<std::uint64_t, kWords>& words) {
    ExactSum s;
    for (int i = 0; i < 4; ++i) s.w_[i] = words[i];
    s.nonfinite_ = static_cast<unsigned>(words[4]);
    return s;
  }

 private:
  void add(const std::uint64_t v[4]) {
    UInt128 carry = 0;
    for (int i = 0; i < 4; ++i) {
      const UInt128 s = static_cast<UInt128>(w_[i]) + v[i] + carry;
      w_[i] = static_cast<std::uint64_t>(s);
      carry = s >> 64;
    }
  }
  void sub(const std::uint64_t v[4]) {
    std::uint64_t borrow = 0;
    for (int i = 0; i < 4; ++i) {
      const std::uint64_t a = w_[i], b = v[i];
      const std::uint64_t d = a - b - borrow;
      borrow = (a < b || (a == b && borrow)) ? 1 : 0;
      w_[i] = d;
    }
  }

  std::uint64_t w_[4] = {0, 0, 0, 0};
  unsigned nonfinite_ = 0;
};

}  // namespace dsim::detail
