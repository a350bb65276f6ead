#include "config/topology.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <numeric>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>

#include "config/names.hpp"
#include "dsim/message.hpp"
#include "dsim/random.hpp"
#include "dsim/types.hpp"

namespace dsim::config {
namespace {

using U64 = std::uint64_t;
using U32 = std::uint32_t;
// For products of counts that may overflow 64 bits.
__extension__ typedef unsigned __int128 Wide;

enum class Kind {
  kOneToOne,
  kAllToAll,
  kAny,
  kRing,
  kGrid,
  kTorus,
  kComplete,
  kErdosRenyi,
  kRandomRegular,
  kSmallWorld,
  kScaleFree,
  kRandom,
  kEdgeList,
};

// Bits naming the options of TopologyOptions, for "does not apply" checks.
enum OptionBit : unsigned {
  kOptK = 1u << 0,
  kOptDegree = 1u << 1,
  kOptM = 1u << 2,
  kOptEdges = 1u << 3,
  kOptRows = 1u << 4,
  kOptCols = 1u << 5,
  kOptP = 1u << 6,
  kOptFile = 1u << 7,
  kOptSymmetric = 1u << 8,
};

struct OptionName {
  unsigned bit;
  std::string_view name;
};
constexpr std::array<OptionName, 9> kOptionNames = {{
    {kOptK, "k"},
    {kOptDegree, "degree"},
    {kOptM, "m"},
    {kOptEdges, "edges"},
    {kOptRows, "rows"},
    {kOptCols, "cols"},
    {kOptP, "p"},
    {kOptFile, "file"},
    {kOptSymmetric, "symmetric"},
}};

struct KindInfo {
  std::string_view name;
  Kind kind;
  unsigned options;   // OptionBits that apply
  bool within_group;  // from and to must be the same group
};

constexpr std::array<KindInfo, 13> kKinds = {{
    {"one_to_one", Kind::kOneToOne, 0, false},
    {"all_to_all", Kind::kAllToAll, 0, false},
    {"any", Kind::kAny, 0, false},
    {"ring", Kind::kRing, kOptK, true},
    {"grid", Kind::kGrid, kOptRows | kOptCols, true},
    {"torus", Kind::kTorus, kOptRows | kOptCols, true},
    {"complete", Kind::kComplete, 0, true},
    {"erdos_renyi", Kind::kErdosRenyi, kOptP | kOptEdges, true},
    {"random_regular", Kind::kRandomRegular, kOptDegree, true},
    {"small_world", Kind::kSmallWorld, kOptK | kOptP, true},
    {"scale_free", Kind::kScaleFree, kOptM, true},
    {"random", Kind::kRandom, kOptDegree, false},
    {"edge_list", Kind::kEdgeList, kOptFile | kOptSymmetric, false},
}};

// The kinds' names, each kind's option names and all option names, as the
// spans topology_kinds() and topology_option_keys() hand to the loader.
constexpr auto kKindNames = [] {
  std::array<std::string_view, kKinds.size()> names{};
  for (std::size_t i = 0; i < kKinds.size(); ++i) names[i] = kKinds[i].name;
  return names;
}();
struct KindOptions {
  std::array<std::string_view, kOptionNames.size()> names{};
  std::size_t count = 0;
};
constexpr auto kKindOptions = [] {
  std::array<KindOptions, kKinds.size()> options{};
  for (std::size_t i = 0; i < kKinds.size(); ++i) {
    for (const OptionName& option : kOptionNames) {
      if (kKinds[i].options & option.bit) options[i].names[options[i].count++] = option.name;
    }
  }
  return options;
}();
constexpr auto kOptionKeys = [] {
  std::array<std::string_view, kOptionNames.size()> names{};
  for (std::size_t i = 0; i < kOptionNames.size(); ++i) names[i] = kOptionNames[i].name;
  return names;
}();

// One dsim::Random stream per generator, all with entity id 0.
enum Stream : U32 {
  kStreamErdosRenyi = 1,
  kStreamRandomRegular = 2,
  kStreamSmallWorld = 3,
  kStreamScaleFree = 4,
  kStreamRandom = 5,
};

template <typename... Args>
[[noreturn]] void fail(const KindInfo& info, fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format("topology '{}': {}", info.name,
                          fmt::format(format, std::forward<Args>(args)...)));
}

const KindInfo& find_kind(std::string_view name) {
  for (const KindInfo& info : kKinds) {
    if (info.name == name) return info;
  }
  throw Error(fmt::format("unknown topology '{}'{} (known: {})", clip(name),
                          did_you_mean(name, kKindNames), join_names(kKindNames, ", ")));
}

std::string options_taken(const KindInfo& info) {
  std::string names;
  for (const OptionName& option : kOptionNames) {
    if (info.options & option.bit) {
      if (!names.empty()) names += ", ";
      names += option.name;
    }
  }
  return names.empty() ? "it takes no options" : "it takes: " + names;
}

U64 isqrt(U64 n) {
  auto r = static_cast<U64>(std::sqrt(static_cast<double>(n)));
  while (r > 0 && r * r > n) --r;
  while ((r + 1) * (r + 1) <= n) ++r;
  return r;
}

// Parameters after defaults and checks; what the generators read.
struct Resolved {
  const KindInfo* info = nullptr;
  U64 n_from = 0;
  U64 n_to = 0;
  bool same_group = false;
  U64 k = 0;                 // ring: neighbours each side; small_world: mean degree
  U64 degree = 0;            // random_regular, random
  U64 m = 0;                 // scale_free
  std::optional<U64> edges;  // erdos_renyi G(n, m)
  double p = 0.0;            // erdos_renyi G(n, p), small_world
  U64 rows = 0;
  U64 cols = 0;
};

void check_edge_count(const KindInfo& info, Wide count) {
  if (count > kMaxTopologyEdges) {
    fail(info, "would create {:.4g} edges, more than the limit of {}{}", static_cast<double>(count),
         kMaxTopologyEdges,
         info.kind == Kind::kAllToAll || info.kind == Kind::kComplete
             ? "; use 'any' if every member may be reached"
             : "");
  }
}

double checked_probability(const KindInfo& info, double p) {
  if (!(p >= 0.0 && p <= 1.0)) fail(info, "p must be in [0, 1] (got {})", p);
  return p;
}

void resolve_grid(const TopologyOptions& options, Resolved& r) {
  const KindInfo& info = *r.info;
  const U64 n = r.n_from;
  const auto at_least_one = [&](std::string_view name, std::int64_t value) {
    if (value < 1) fail(info, "{} must be >= 1 (got {})", name, value);
    return static_cast<U64>(value);
  };
  if (!options.rows && !options.cols) {
    const U64 side = isqrt(n);
    if (side * side != n) {
      fail(info, "the group's count ({}) is not a perfect square; give rows and cols", n);
    }
    r.rows = r.cols = side;
  } else if (options.rows && options.cols) {
    r.rows = at_least_one("rows", *options.rows);
    r.cols = at_least_one("cols", *options.cols);
    const Wide product = Wide{r.rows} * r.cols;
    if (product != n) {
      fail(info, "rows*cols ({}) must equal the group's count ({})",
           product > ~U64{0} ? fmt::format("{}*{}", r.rows, r.cols)
                             : fmt::format("{}", r.rows * r.cols),
           n);
    }
  } else {
    const bool has_rows = options.rows.has_value();
    const std::string_view given = has_rows ? "rows" : "cols";
    const U64 value = at_least_one(given, has_rows ? *options.rows : *options.cols);
    if (n % value != 0) {
      fail(info, "{} ({}) does not divide the group's count ({}); give rows and cols", given, value,
           n);
    }
    r.rows = has_rows ? value : n / value;
    r.cols = has_rows ? n / value : value;
  }
}

Resolved resolve(const TopologyOptions& options, U64 n_from, U64 n_to, bool same_group) {
  const KindInfo& info = find_kind(options.kind);
  const std::array<bool, kOptionNames.size()> given = {
      options.k.has_value(),     options.degree.has_value(), options.m.has_value(),
      options.edges.has_value(), options.rows.has_value(),   options.cols.has_value(),
      options.p.has_value(),     !options.file.empty(),      options.symmetric,
  };
  for (std::size_t i = 0; i < kOptionNames.size(); ++i) {
    if (given[i] && !(info.options & kOptionNames[i].bit)) {
      fail(info, "option '{}' does not apply ({})", kOptionNames[i].name, options_taken(info));
    }
  }
  if (n_from > kMaxEntities || n_to > kMaxEntities) {
    fail(info, "a group of {} entities is more than the limit of {}", std::max(n_from, n_to),
         kMaxEntities);
  }
  if (info.within_group && !same_group) {
    fail(info, "works within one group; from and to must name the same group");
  }

  Resolved r;
  r.info = &info;
  r.n_from = n_from;
  r.n_to = n_to;
  r.same_group = same_group;
  const U64 n = n_from;  // the group's count, for within-group kinds
  const auto required = [&](const std::optional<std::int64_t>& value, std::string_view name) {
    if (!value) fail(info, "option '{}' is required", name);
    return *value;
  };

  switch (info.kind) {
    case Kind::kOneToOne:
      if (same_group) {
        fail(info, "within one group would link every entity to itself; use two groups");
      }
      if (n_from != n_to) {
        fail(info, "from-group has {} entities, to-group {}; they must be equal", n_from, n_to);
      }
      break;
    case Kind::kAllToAll:
      check_edge_count(info, same_group ? Wide{n} * (n == 0 ? 0 : n - 1) : Wide{n_from} * n_to);
      break;
    case Kind::kAny:
      break;
    case Kind::kRing: {
      const std::int64_t k = options.k.value_or(1);
      if (k < 1 || Wide(2) * static_cast<U64>(k) >= n) {
        fail(info, "k must be >= 1 and < count/2 (got {}, count {})", k, n);
      }
      r.k = static_cast<U64>(k);
      check_edge_count(info, Wide{2} * r.k * n);
      break;
    }
    case Kind::kGrid:
    case Kind::kTorus:
      resolve_grid(options, r);
      break;
    case Kind::kComplete:
      check_edge_count(info, Wide{n} * (n == 0 ? 0 : n - 1));
      break;
    case Kind::kErdosRenyi: {
      if (options.p.has_value() == options.edges.has_value()) {
        fail(info,
             "give exactly one of 'p' (each pair with probability p) and 'edges' "
             "(exactly that many)");
      }
      const U64 pairs = n < 2 ? 0 : n * (n - 1) / 2;
      if (options.edges) {
        const std::int64_t edges = *options.edges;
        if (edges < 0 || static_cast<U64>(edges) > pairs) {
          fail(info, "edges must be >= 0 and <= count*(count-1)/2 = {} (got {})", pairs, edges);
        }
        r.edges = static_cast<U64>(edges);
        check_edge_count(info, Wide{2} * *r.edges);
      } else {
        r.p = checked_probability(info, *options.p);
        const double expected = r.p * 2.0 * static_cast<double>(pairs);
        if (expected > static_cast<double>(kMaxTopologyEdges)) {
          fail(info, "would create about {:.4g} edges, more than the limit of {}", expected,
               kMaxTopologyEdges);
        }
      }
      break;
    }
    case Kind::kRandomRegular: {
      const std::int64_t d = required(options.degree, "degree");
      if (d < 1 || static_cast<U64>(d) >= n) {
        fail(info, "degree must be >= 1 and < count (got {}, count {})", d, n);
      }
      r.degree = static_cast<U64>(d);
      if ((n * r.degree) % 2 != 0) {
        fail(info, "count*degree must be even (got count {}, degree {})", n, d);
      }
      check_edge_count(info, Wide{n} * r.degree);
      break;
    }
    case Kind::kSmallWorld: {
      const std::int64_t k = options.k.value_or(4);
      if (k < 2 || k % 2 != 0 || static_cast<U64>(k) >= n) {
        fail(info, "k must be even, >= 2 and < count (got {}, count {})", k, n);
      }
      r.k = static_cast<U64>(k);
      r.p = checked_probability(info, options.p.value_or(0.1));
      check_edge_count(info, Wide{n} * r.k);
      break;
    }
    case Kind::kScaleFree: {
      const std::int64_t m = required(options.m, "m");
      if (m < 1 || static_cast<U64>(m) >= n) {
        fail(info, "m must be >= 1 and < count (got {}, count {})", m, n);
      }
      r.m = static_cast<U64>(m);
      check_edge_count(info, Wide{2} * (Wide{r.m} * (r.m + 1) / 2 + Wide{r.m} * (n - r.m - 1)));
      break;
    }
    case Kind::kRandom: {
      const std::int64_t d = required(options.degree, "degree");
      const U64 targets = same_group ? (n_to == 0 ? 0 : n_to - 1) : n_to;
      if (d < 1 || static_cast<U64>(d) > targets) {
        if (same_group) {
          fail(info, "degree must be >= 1 and <= count-1 = {} (got {})", targets, d);
        }
        fail(info, "degree must be >= 1 and <= the to-group's count {} (got {})", n_to, d);
      }
      r.degree = static_cast<U64>(d);
      check_edge_count(info, Wide{n_from} * r.degree);
      break;
    }
    case Kind::kEdgeList: {
      if (options.file.empty()) fail(info, "option 'file' is required");
      if (options.symmetric && !same_group) {
        fail(info, "symmetric = true needs from and to to be the same group");
      }
      std::error_code ec;
      if (std::filesystem::is_directory(options.file, ec)) {
        fail(info, "cannot read file '{}': it is a directory", clip(options.file));
      }
      errno = 0;
      std::ifstream in(options.file, std::ios::binary);
      if (!in) {
        fail(info, "cannot read file '{}': {}", clip(options.file),
             errno != 0 ? std::strerror(errno) : "cannot open");
      }
      break;
    }
  }
  return r;
}

// ---------------------------------------------------------------------------
// Helpers shared by the generators.

using Pair = std::pair<U32, U32>;  // an undirected edge, either order

// Both directions of every pair, sorted by (from, to). Counting sort by
// `from`, then a sort of each (short) row: O(E) plus the row sorts, which
// matters for 10^7 edges.
std::vector<Edge> both_directions(U64 n, const std::vector<Pair>& pairs, double weight) {
  std::vector<U64> next(n + 1, 0);
  for (const auto& [u, v] : pairs) {
    ++next[u + 1];
    ++next[v + 1];
  }
  std::partial_sum(next.begin(), next.end(), next.begin());
  std::vector<Edge> edges(2 * pairs.size());
  for (const auto& [u, v] : pairs) {
    edges[next[u]++] = Edge{u, v, weight};
    edges[next[v]++] = Edge{v, u, weight};
  }
  // next[u] is now the end of row u, which is where row u + 1 starts.
  U64 begin = 0;
  for (U64 u = 0; u < n; ++u) {
    std::sort(edges.begin() + static_cast<std::ptrdiff_t>(begin),
              edges.begin() + static_cast<std::ptrdiff_t>(next[u]),
              [](const Edge& a, const Edge& b) { return a.to < b.to; });
    begin = next[u];
  }
  return edges;
}

U64 pair_key(U32 u, U32 v) { return u < v ? (U64{u} << 32) | v : (U64{v} << 32) | u; }

// A set of 64-bit keys (pair_key values or pair indices, all < kErased):
// open addressing with linear probing and tombstones. Sized once for the
// most slots that will ever be filled (live keys plus erased ones).
class KeySet {
 public:
  explicit KeySet(U64 max_filled) {
    U64 capacity = 16;
    while (capacity < max_filled + max_filled / 2) capacity *= 2;
    slots_.assign(capacity, kEmpty);
    mask_ = capacity - 1;
  }

  bool contains(U64 key) const {
    for (U64 i = hash(key) & mask_;; i = (i + 1) & mask_) {
      if (slots_[i] == key) return true;
      if (slots_[i] == kEmpty) return false;
    }
  }

  // Returns false (and changes nothing) if `key` is already present.
  bool insert(U64 key) {
    U64 free = kNone;
    for (U64 i = hash(key) & mask_;; i = (i + 1) & mask_) {
      if (slots_[i] == key) return false;
      if (slots_[i] == kErased && free == kNone) free = i;
      if (slots_[i] == kEmpty) {
        slots_[free == kNone ? i : free] = key;
        return true;
      }
    }
  }

  void erase(U64 key) {
    for (U64 i = hash(key) & mask_;; i = (i + 1) & mask_) {
      if (slots_[i] == key) {
        slots_[i] = kErased;
        return;
      }
      if (slots_[i] == kEmpty) return;
    }
  }

  void clear() { std::fill(slots_.begin(), slots_.end(), kEmpty); }

 private:
  static constexpr U64 kEmpty = ~U64{0};
  static constexpr U64 kErased = ~U64{0} - 1;
  static constexpr U64 kNone = ~U64{0};

  static U64 hash(U64 x) {  // splitmix64 finalizer
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
  }

  std::vector<U64> slots_;
  U64 mask_ = 0;
};

// Pairs (v, w) with w < v numbered row by row: index = v(v-1)/2 + w.
Pair pair_from_index(U64 index) {
  auto v = static_cast<U64>((1.0 + std::sqrt(1.0 + 8.0 * static_cast<double>(index))) / 2.0);
  while (v > 1 && v * (v - 1) / 2 > index) --v;
  while ((v + 1) * v / 2 <= index) ++v;
  return {static_cast<U32>(v), static_cast<U32>(index - v * (v - 1) / 2)};
}

// ---------------------------------------------------------------------------
// Generators.

std::vector<Edge> one_to_one(const Resolved& r, double weight) {
  std::vector<Edge> edges;
  edges.reserve(r.n_from);
  for (U64 i = 0; i < r.n_from; ++i) {
    edges.push_back(Edge{static_cast<U32>(i), static_cast<U32>(i), weight});
  }
  return edges;
}

std::vector<Edge> all_to_all(const Resolved& r, double weight) {
  std::vector<Edge> edges;
  edges.reserve(r.same_group ? r.n_from * (std::max<U64>(r.n_from, 1) - 1) : r.n_from * r.n_to);
  for (U64 i = 0; i < r.n_from; ++i) {
    for (U64 j = 0; j < r.n_to; ++j) {
      if (r.same_group && i == j) continue;
      edges.push_back(Edge{static_cast<U32>(i), static_cast<U32>(j), weight});
    }
  }
  return edges;
}

std::vector<Edge> ring(U64 n, U64 k, double weight) {
  std::vector<Pair> pairs;
  pairs.reserve(n * k);
  for (U64 i = 0; i < n; ++i) {
    for (U64 j = 1; j <= k; ++j) {
      pairs.emplace_back(static_cast<U32>(i), static_cast<U32>((i + j) % n));
    }
  }
  return both_directions(n, pairs, weight);
}

std::vector<Edge> grid(const Resolved& r, bool wrap, double weight) {
  std::vector<Pair> pairs;
  pairs.reserve(2 * r.n_from);
  // Wrapping a dimension of 1 would make self-loops, one of 2 the same edge twice.
  const bool wrap_cols = wrap && r.cols >= 3;
  const bool wrap_rows = wrap && r.rows >= 3;
  for (U64 row = 0; row < r.rows; ++row) {
    for (U64 col = 0; col < r.cols; ++col) {
      const auto id = static_cast<U32>(row * r.cols + col);
      if (col + 1 < r.cols) {
        pairs.emplace_back(id, id + 1);
      } else if (wrap_cols) {
        pairs.emplace_back(id, static_cast<U32>(row * r.cols));
      }
      if (row + 1 < r.rows) {
        pairs.emplace_back(id, static_cast<U32>(id + r.cols));
      } else if (wrap_rows) {
        pairs.emplace_back(id, static_cast<U32>(col));
      }
    }
  }
  return both_directions(r.n_from, pairs, weight);
}

// G(n, p) by geometric skipping over the pair indices (Batagelj & Brandes
// 2005): O(n + edges) draws instead of one per pair.
std::vector<Edge> erdos_renyi_p(U64 n, double p, Random& rng, double weight) {
  const U64 total = n < 2 ? 0 : n * (n - 1) / 2;
  std::vector<Pair> pairs;
  if (p >= 1.0) {
    pairs.reserve(total);
    for (U64 t = 0; t < total; ++t) pairs.push_back(pair_from_index(t));
  } else if (p > 0.0) {
    pairs.reserve(static_cast<std::size_t>(p * static_cast<double>(total) * 1.01) + 16);
    const double log_q = std::log1p(-p);
    U64 t = 0;  // the next candidate pair index
    while (t < total) {
      const double skip = std::floor(std::log(rng.uniform_pos()) / log_q);
      if (!(skip < static_cast<double>(total - t))) break;
      t += static_cast<U64>(skip);
      pairs.push_back(pair_from_index(t));
      ++t;
    }
  }
  return both_directions(n, pairs, weight);
}

// G(n, m): exactly m distinct pairs, by Floyd's sampling of m indices.
std::vector<Edge> erdos_renyi_m(U64 n, U64 m, Random& rng, double weight) {
  const U64 total = n < 2 ? 0 : n * (n - 1) / 2;
  KeySet chosen(m);
  std::vector<Pair> pairs;
  pairs.reserve(m);
  for (U64 j = total - m; j < total; ++j) {
    U64 t = rng.below(j + 1);
    if (!chosen.insert(t)) {
      t = j;
      chosen.insert(j);
    }
    pairs.push_back(pair_from_index(t));
  }
  return both_directions(n, pairs, weight);
}

// Whether some two of the leftover stubs can still be paired: two different
// vertices not yet adjacent.
bool can_pair(std::vector<U32> stubs, const KeySet& adjacent) {
  std::sort(stubs.begin(), stubs.end());
  stubs.erase(std::unique(stubs.begin(), stubs.end()), stubs.end());
  for (std::size_t i = 0; i < stubs.size(); ++i) {
    for (std::size_t j = i + 1; j < stubs.size(); ++j) {
      if (!adjacent.contains(pair_key(stubs[i], stubs[j]))) return true;
    }
  }
  return false;
}

// Joins stubs u and v (a self-loop or a duplicate if joined directly) by a
// switch: an edge {x, y} is replaced by {u, x} and {v, y}, which keeps every
// degree. Returns false if no suitable edge turned up in `tries` draws.
bool switch_in(U32 u, U32 v, std::vector<Pair>& pairs, KeySet& adjacent, Random& rng, U64 tries) {
  for (U64 i = 0; i < tries; ++i) {
    const U64 e = rng.below(pairs.size());
    auto [x, y] = pairs[e];
    if (rng.bits() & 1) std::swap(x, y);
    if (x == u || y == v || adjacent.contains(pair_key(u, x)) ||
        adjacent.contains(pair_key(v, y))) {
      continue;
    }
    adjacent.erase(pair_key(x, y));
    adjacent.insert(pair_key(u, x));
    adjacent.insert(pair_key(v, y));
    pairs[e] = Pair{u, x};
    pairs.emplace_back(v, y);
    return true;
  }
  return false;
}

// A simple d-regular graph on n vertices by pairing with repair, after
// networkx.random_regular_graph (Steger & Wormald 1999): match all stubs at
// random; the matches that would make a self-loop or a duplicate go back into
// the pool, which is matched again while that can still succeed. What is left
// then (a handful of stubs for large n) is joined by switches, so a large
// graph never starts over for the sake of two stubs.
std::vector<Pair> regular_pairs(U64 n, U64 d, Random& rng) {
  constexpr int kMaxAttempts = 1000;
  const U64 m = n * d / 2;
  KeySet adjacent(m + m / 2);  // switches leave erased slots behind
  std::vector<Pair> pairs;
  std::vector<U32> stubs;
  std::vector<U32> leftover;
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    if (attempt > 0) adjacent.clear();
    pairs.clear();
    pairs.reserve(m);
    stubs.resize(n * d);
    for (U64 i = 0; i < n * d; ++i) stubs[i] = static_cast<U32>(i / d);
    bool stuck = false;
    while (!stubs.empty() && !stuck) {
      leftover.clear();
      // A uniform perfect matching: stub i meets a uniform stub of those after it.
      for (std::size_t i = 0; i < stubs.size(); i += 2) {
        std::swap(stubs[i + 1], stubs[i + 1 + rng.below(stubs.size() - i - 1)]);
        const U32 u = stubs[i];
        const U32 v = stubs[i + 1];
        if (u != v && adjacent.insert(pair_key(u, v))) {
          pairs.emplace_back(u, v);
        } else {
          leftover.push_back(u);
          leftover.push_back(v);
        }
      }
      stubs.swap(leftover);
      if (!stubs.empty() && !can_pair(stubs, adjacent)) {
        const U64 tries = 64 + 8 * pairs.size();
        for (std::size_t i = 0; i < stubs.size() && !stuck; i += 2) {
          stuck = !switch_in(stubs[i], stubs[i + 1], pairs, adjacent, rng, tries);
        }
        if (!stuck) return pairs;
      }
    }
    if (!stuck) return pairs;
  }
  throw Error(fmt::format("topology 'random_regular': found no {}-regular graph on {} nodes in {} "
                          "attempts",
                          d, n, kMaxAttempts),
              Error::Kind::kRuntime);
}

std::vector<Edge> random_regular(U64 n, U64 d, Random& rng, double weight) {
  // Pairing gets stuck often in dense graphs; a dense one is the complement
  // of a sparse one (n*(n-1-d) is even whenever n*d is).
  if (2 * d <= n - 1) return both_directions(n, regular_pairs(n, d, rng), weight);
  const U64 d_complement = n - 1 - d;
  const std::vector<Edge> complement =
      d_complement == 0 ? std::vector<Edge>{}
                        : both_directions(n, regular_pairs(n, d_complement, rng), weight);
  std::vector<Edge> edges;
  edges.reserve(n * d);
  auto it = complement.begin();
  for (U64 u = 0; u < n; ++u) {
    for (U64 v = 0; v < n; ++v) {
      if (it != complement.end() && it->from == u && it->to == v) {
        ++it;
      } else if (v != u) {
        edges.push_back(Edge{static_cast<U32>(u), static_cast<U32>(v), weight});
      }
    }
  }
  return edges;
}

// Watts-Strogatz as in networkx.watts_strogatz_graph: the ring lattice's edge
// (u, u+j) is, with probability p, replaced by (u, w) for a uniform w that is
// neither u nor already a neighbour of u.
std::vector<Edge> small_world(U64 n, U64 k, double p, Random& rng, double weight) {
  const U64 half = k / 2;
  std::vector<Pair> pairs;
  pairs.reserve(n * half);
  KeySet adjacent(2 * n * half);
  for (U64 j = 1; j <= half; ++j) {
    for (U64 u = 0; u < n; ++u) {
      const auto v = static_cast<U32>((u + j) % n);
      pairs.emplace_back(static_cast<U32>(u), v);
      adjacent.insert(pair_key(static_cast<U32>(u), v));
    }
  }
  std::vector<U32> degree(n, static_cast<U32>(k));
  for (Pair& pair : pairs) {
    if (!(rng.uniform() < p)) continue;
    const auto [u, v] = pair;
    if (degree[u] >= n - 1) continue;  // u is adjacent to everybody
    U32 w = 0;
    do {
      w = static_cast<U32>(rng.below(n));
    } while (w == u || adjacent.contains(pair_key(u, w)));
    adjacent.erase(pair_key(u, v));
    adjacent.insert(pair_key(u, w));
    --degree[v];
    ++degree[w];
    pair.second = w;
  }
  return both_directions(n, pairs, weight);
}

// Barabasi-Albert: start from m+1 fully connected nodes; each new node links
// to m distinct existing nodes drawn from the list holding every node once
// per unit of degree (preferential attachment).
std::vector<Edge> scale_free(U64 n, U64 m, Random& rng, double weight) {
  const U64 initial = m * (m + 1) / 2;
  std::vector<Pair> pairs;
  pairs.reserve(initial + m * (n - m - 1));
  std::vector<U32> repeated;
  repeated.reserve(2 * pairs.capacity());
  for (U64 u = 0; u <= m; ++u) {
    for (U64 v = u + 1; v <= m; ++v) {
      pairs.emplace_back(static_cast<U32>(u), static_cast<U32>(v));
      repeated.push_back(static_cast<U32>(u));
      repeated.push_back(static_cast<U32>(v));
    }
  }
  std::vector<U32> chosen_by(n, std::numeric_limits<U32>::max());
  std::vector<U32> targets;
  targets.reserve(m);
  for (U64 v = m + 1; v < n; ++v) {
    const auto node = static_cast<U32>(v);
    targets.clear();
    while (targets.size() < m) {
      const U32 t = repeated[rng.below(repeated.size())];
      if (chosen_by[t] == node) continue;
      chosen_by[t] = node;
      targets.push_back(t);
    }
    for (const U32 t : targets) {
      pairs.emplace_back(t, node);
      repeated.push_back(t);
      repeated.push_back(node);
    }
  }
  return both_directions(n, pairs, weight);
}

// Each from-entity gets `degree` distinct targets, by Floyd's sampling over the
// to-group (less the from-entity itself within one group).
std::vector<Edge> random_targets(const Resolved& r, Random& rng, double weight) {
  const U64 choices = r.same_group ? r.n_to - 1 : r.n_to;
  const U64 d = r.degree;
  std::vector<U32> chosen_by(choices, std::numeric_limits<U32>::max());
  std::vector<U32> row;
  row.reserve(d);
  std::vector<Edge> edges;
  edges.reserve(r.n_from * d);
  for (U64 i = 0; i < r.n_from; ++i) {
    const auto from = static_cast<U32>(i);
    row.clear();
    for (U64 j = choices - d; j < choices; ++j) {
      U64 t = rng.below(j + 1);
      if (chosen_by[t] == from) t = j;
      chosen_by[t] = from;
      row.push_back(static_cast<U32>(r.same_group && t >= i ? t + 1 : t));
    }
    std::sort(row.begin(), row.end());
    for (const U32 to : row) edges.push_back(Edge{from, to, weight});
  }
  return edges;
}

// ---------------------------------------------------------------------------
// edge_list

std::vector<std::string_view> split_fields(std::string_view line) {
  std::vector<std::string_view> fields;
  for (;;) {
    const std::size_t comma = line.find(',');
    fields.push_back(trim(line.substr(0, comma)));
    if (comma == std::string_view::npos) return fields;
    line.remove_prefix(comma + 1);
  }
}

bool equals_lower(std::string_view field, std::string_view word) {
  return field.size() == word.size() &&
         std::equal(field.begin(), field.end(), word.begin(), [](char a, char b) {
           return (a >= 'A' && a <= 'Z' ? static_cast<char>(a - 'A' + 'a') : a) == b;
         });
}

bool is_header(const std::vector<std::string_view>& fields) {
  return (fields.size() == 2 || fields.size() == 3) && equals_lower(fields[0], "from") &&
         equals_lower(fields[1], "to") && (fields.size() == 2 || equals_lower(fields[2], "weight"));
}

struct ListedEdge {
  U32 from;
  U32 to;
  double weight;
  U64 line;
  bool reverse;  // added by symmetric = true as the reverse of `line`
};

std::vector<Edge> edge_list(const TopologyOptions& options, const Resolved& r, double weight) {
  const std::string& file = options.file;
  std::string text;
  {
    errno = 0;
    std::ifstream in(file, std::ios::binary);
    std::ostringstream buffer;
    if (in) buffer << in.rdbuf();
    if (!in || in.bad()) {
      throw Error(fmt::format("topology 'edge_list': cannot read file '{}': {}", clip(file),
                              errno != 0 ? std::strerror(errno) : "read error"));
    }
    text = std::move(buffer).str();
  }
  const auto error = [&](U64 line, const std::string& message) -> Error {
    return Error(fmt::format("{}:{}: {}", clip(file), line, message));
  };
  const auto parse_index = [&](U64 line, std::string_view field, std::string_view role,
                               std::string_view group, U64 count) {
    U64 value = 0;
    const auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), value);
    if (ec == std::errc::result_out_of_range) {
      throw error(line, fmt::format("{} index {} out of range (the {} has {} entities)", role,
                                    clip(field), group, count));
    }
    if (field.empty() || ec != std::errc{} || end != field.data() + field.size()) {
      throw error(line,
                  fmt::format("{} index '{}' is not a non-negative integer", role, clip(field)));
    }
    if (value >= count) {
      throw error(line, fmt::format("{} index {} out of range (the {} has {} entities)", role,
                                    value, group, count));
    }
    return static_cast<U32>(value);
  };

  std::vector<ListedEdge> listed;
  bool seen_content = false;
  U64 line_number = 0;
  std::string_view rest = text;
  while (!rest.empty()) {
    ++line_number;
    const std::size_t newline = rest.find('\n');
    std::string_view line = rest.substr(0, newline);
    rest.remove_prefix(newline == std::string_view::npos ? rest.size() : newline + 1);
    line = trim(line.substr(0, line.find('#')));
    if (line.empty()) continue;
    const std::vector<std::string_view> fields = split_fields(line);
    const bool first = !seen_content;
    seen_content = true;
    if (first && is_header(fields)) continue;
    if (fields.size() != 2 && fields.size() != 3) {
      throw error(line_number,
                  fmt::format("expected 'from,to' or 'from,to,weight', got '{}'", clip(line)));
    }
    ListedEdge edge{};
    edge.line = line_number;
    edge.from = parse_index(line_number, fields[0], "source", "from-group", r.n_from);
    edge.to = parse_index(line_number, fields[1], "target", "to-group", r.n_to);
    edge.weight = weight;
    if (fields.size() == 3) {
      const std::string_view field = fields[2];
      const auto [end, ec] =
          std::from_chars(field.data(), field.data() + field.size(), edge.weight);
      if (field.empty() || ec != std::errc{} || end != field.data() + field.size()) {
        throw error(line_number, fmt::format("weight '{}' is not a number", clip(field)));
      }
      // The same rule as a link's `weight`.
      if (!std::isfinite(edge.weight) || !(edge.weight > 0.0)) {
        throw error(line_number, fmt::format("weight {} must be finite and > 0", clip(field)));
      }
    }
    if (r.same_group && edge.from == edge.to) {
      throw error(line_number, fmt::format("self-loop {} -> {} (from and to are the same group)",
                                           edge.from, edge.to));
    }
    listed.push_back(edge);
    if (options.symmetric) {
      listed.push_back(ListedEdge{edge.to, edge.from, edge.weight, line_number, true});
    }
  }

  const auto order = [](const ListedEdge& a, const ListedEdge& b) {
    return std::tie(a.from, a.to, a.line, a.reverse) < std::tie(b.from, b.to, b.line, b.reverse);
  };
  std::sort(listed.begin(), listed.end(), order);
  // Report the duplicate whose second occurrence comes first in the file.
  const ListedEdge* first = nullptr;
  const ListedEdge* second = nullptr;
  for (std::size_t i = 1; i < listed.size(); ++i) {
    const ListedEdge& a = listed[i - 1];
    const ListedEdge& b = listed[i];
    if (a.from != b.from || a.to != b.to) continue;
    if (second == nullptr ||
        std::tie(b.line, b.reverse) < std::tie(second->line, second->reverse)) {
      first = &a;
      second = &b;
    }
  }
  if (second != nullptr) {
    std::string message;
    if (!first->reverse && !second->reverse) {
      message = fmt::format("duplicate edge {} -> {} (first on line {})", second->from, second->to,
                            first->line);
    } else if (!first->reverse) {
      message = fmt::format(
          "duplicate edge {} -> {}: symmetric = true adds it as the reverse of this line, and "
          "line {} lists it",
          second->from, second->to, first->line);
    } else if (!second->reverse) {
      message = fmt::format(
          "duplicate edge {} -> {} (symmetric = true already adds it as the reverse of line {})",
          second->from, second->to, first->line);
    } else {
      message = fmt::format("duplicate edge {} -> {} (the reverse of line {} and of this line)",
                            second->from, second->to, first->line);
    }
    throw error(second->line, message);
  }

  std::vector<Edge> edges;
  edges.reserve(listed.size());
  for (const ListedEdge& e : listed) edges.push_back(Edge{e.from, e.to, e.weight});
  return edges;
}

}  // namespace

void check_topology(const TopologyOptions& options, std::uint64_t n_from, std::uint64_t n_to,
                    bool same_group) {
  (void)resolve(options, n_from, n_to, same_group);
}

std::vector<Edge> generate_topology(const TopologyOptions& options, std::uint64_t n_from,
                                    std::uint64_t n_to, bool same_group, std::uint64_t seed,
                                    double weight) {
  const Resolved r = resolve(options, n_from, n_to, same_group);
  const U64 n = n_from;
  const auto stream = [&](Stream id, U64& counter) { return Random(seed, 0, id, &counter); };
  U64 counter = 0;
  switch (r.info->kind) {
    case Kind::kOneToOne:
      return one_to_one(r, weight);
    case Kind::kAllToAll:
      return all_to_all(r, weight);
    case Kind::kAny:
      return {};
    case Kind::kRing:
      return ring(n, r.k, weight);
    case Kind::kGrid:
      return grid(r, false, weight);
    case Kind::kTorus:
      return grid(r, true, weight);
    case Kind::kComplete:
      return all_to_all(r, weight);  // within one group: all pairs but self-loops
    case Kind::kErdosRenyi: {
      Random rng = stream(kStreamErdosRenyi, counter);
      return r.edges ? erdos_renyi_m(n, *r.edges, rng, weight) : erdos_renyi_p(n, r.p, rng, weight);
    }
    case Kind::kRandomRegular: {
      Random rng = stream(kStreamRandomRegular, counter);
      return random_regular(n, r.degree, rng, weight);
    }
    case Kind::kSmallWorld: {
      Random rng = stream(kStreamSmallWorld, counter);
      return small_world(n, r.k, r.p, rng, weight);
    }
    case Kind::kScaleFree: {
      Random rng = stream(kStreamScaleFree, counter);
      return scale_free(n, r.m, rng, weight);
    }
    case Kind::kRandom: {
      Random rng = stream(kStreamRandom, counter);
      return random_targets(r, rng, weight);
    }
    case Kind::kEdgeList:
      return edge_list(options, r, weight);
  }
  return {};
}

std::span<const std::string_view> topology_kinds() { return kKindNames; }

std::span<const std::string_view> topology_option_keys() { return kOptionKeys; }

std::span<const std::string_view> topology_option_keys(std::string_view kind) {
  for (std::size_t i = 0; i < kKinds.size(); ++i) {
    if (kKinds[i].name == kind) return {kKindOptions[i].names.data(), kKindOptions[i].count};
  }
  return {};
}

}  // namespace dsim::config
