#include "stats/partials.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>

namespace dsim::detail {
namespace {

constexpr std::size_t kHeaderBytes = 2 * sizeof(std::uint32_t) + 4 * sizeof(std::uint64_t);

// Writes values into bytes sized beforehand.
struct Writer {
  std::byte* at;
  template <class T>
  void put(const T& value) {
    static_assert(std::is_trivially_copyable_v<T>);
    std::memcpy(at, &value, sizeof value);
    at += sizeof value;
  }
  void put(const ExactSum& sum) {
    for (std::uint64_t w : sum.words()) put(w);
  }
};

// Reads values off the front of the bytes; the caller checks the length first.
struct Reader {
  const std::byte* at;
  template <class T>
  void take(T& value) {
    std::memcpy(&value, at, sizeof value);
    at += sizeof value;
  }
  void take(ExactSum& sum) {
    std::array<std::uint64_t, ExactSum::kWords> words;
    for (auto& w : words) take(w);
    sum = ExactSum::from_words(words);
  }
};

std::uint64_t bin_count(const Partials& p) {
  std::uint64_t n = 0;
  for (const auto& s : p.stats) n += s.bins.size();
  return n;
}

std::size_t body_bytes(const Partials& p) {
  constexpr std::size_t sum = ExactSum::kWords * sizeof(std::uint64_t);
  return p.stats.size() * (2 * sum + 2 * sizeof(double) + sizeof(std::uint64_t)) +
         bin_count(p) * sizeof(std::uint64_t) + p.series.size() * sum;
}

[[noreturn]] void mismatch(const std::string& what) {
  throw Error(fmt::format("statistics from another process do not match this one's: {} (is "
                          "every process running the same dsim binary and config?)",
                          what),
              Error::Kind::kRuntime);
}

void expect(std::string_view field, std::uint64_t theirs, std::uint64_t ours) {
  if (theirs != ours) mismatch(fmt::format("{} {} here, {} there", field, ours, theirs));
}

}  // namespace

void merge(Partials& into, const Partials& from) {
  for (std::size_t i = 0; i < into.stats.size(); ++i) {
    StatPartial& x = into.stats[i];
    const StatPartial& y = from.stats[i];
    x.a.merge(y.a);
    x.b.merge(y.b);
    x.min = std::min(x.min, y.min);
    x.max = std::max(x.max, y.max);
    x.count += y.count;
    for (std::size_t k = 0; k < x.bins.size(); ++k) x.bins[k] += y.bins[k];
  }
  for (std::size_t i = 0; i < into.series.size(); ++i) into.series[i].merge(from.series[i]);
}

std::vector<std::byte> encode(const Partials& p) {
  std::vector<std::byte> bytes(kHeaderBytes + body_bytes(p));
  Writer out{bytes.data()};
  out.put(kPartialsMagic);
  out.put(kPartialsVersion);
  out.put(static_cast<std::uint64_t>(p.stats.size()));
  out.put(static_cast<std::uint64_t>(p.series.size()));
  out.put(bin_count(p));
  out.put(static_cast<std::uint64_t>(ExactSum::kWords));
  for (const auto& s : p.stats) {
    out.put(s.a);
    out.put(s.b);
    out.put(s.min);
    out.put(s.max);
    out.put(s.count);
    for (auto bin : s.bins) out.put(bin);
  }
  for (const auto& e : p.series) out.put(e);
  return bytes;
}

Partials decode(std::span<const std::byte> bytes, const Partials& shape) {
  if (bytes.size() < kHeaderBytes)
    mismatch(fmt::format("{} bytes, shorter than the {}-byte header", bytes.size(),
                         kHeaderBytes));
  Reader in{bytes.data()};
  std::uint32_t magic = 0, version = 0;
  std::uint64_t stats = 0, series = 0, bins = 0, words = 0;
  in.take(magic);
  in.take(version);
  if (magic != kPartialsMagic)
    mismatch(fmt::format("not a statistics record (magic {:#010x}, expected {:#010x})", magic,
                         kPartialsMagic));
  expect("format version", version, kPartialsVersion);
  in.take(stats);
  in.take(series);
  in.take(bins);
  in.take(words);
  expect("statistics", stats, shape.stats.size());
  expect("series cells", series, shape.series.size());
  expect("histogram bins", bins, bin_count(shape));
  expect("ExactSum words", words, ExactSum::kWords);
  const std::size_t want = kHeaderBytes + body_bytes(shape);
  if (bytes.size() != want)
    mismatch(fmt::format("{} bytes, expected {} ({})", bytes.size(), want,
                         bytes.size() < want ? "truncated" : "trailing bytes"));
  Partials out = shape;
  for (auto& s : out.stats) {
    in.take(s.a);
    in.take(s.b);
    in.take(s.min);
    in.take(s.max);
    in.take(s.count);
    for (auto& bin : s.bins) in.take(bin);
  }
  for (auto& e : out.series) in.take(e);
  return out;
}

}  // namespace dsim::detail
