#include "config/names.hpp"

#include <algorithm>
#include <cctype>
#include <vector>

namespace dsim::config {
bool contains(std::span<const std::string_view> names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  // Optimal string alignment: Levenshtein plus swaps of adjacent letters.
  const std::size_t w = b.size() + 1;
  std::vector<std::size_t> d((a.size() + 1) * w);
  for (std::size_t i = 0; i <= a.size(); ++i) d[i * w] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      std::size_t best =
          std::min({d[(i - 1) * w + j] + 1, d[i * w + j - 1] + 1, d[(i - 1) * w + j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        best = std::min(best, d[(i - 2) * w + j - 2] + 1);
      d[i * w + j] = best;
    }
  }
  return d[a.size() * w + b.size()];
}

std::string did_you_mean(std::string_view word, std::span<const std::string_view> candidates) {
  // The distance costs the product of the lengths in time and memory: a huge
  // word (a 200 MB --set key) gets no suggestion rather than an out-of-memory.
  constexpr std::size_t kLongest = 200;
  if (word.size() > kLongest) return {};
  std::string_view best;
  std::size_t best_distance = 0;
  for (std::string_view c : candidates) {
    if (c.size() > kLongest) continue;
    const std::size_t d = edit_distance(word, c);
    if (best.empty() || d < best_distance) {
      best = c;
      best_distance = d;
    }
  }
  // A plausible typo changes at most a third of the word (at least one letter
  // may always be wrong), never all of it.
  const std::size_t allowed = std::max<std::size_t>(1, std::min(word.size(), best.size()) / 3);
  if (best.empty() || best_distance == 0 || best_distance > allowed || best_distance >= word.size())
    return {};
  return " (did you mean '" + std::string(best) + "'?)";
}

std::string_view trim(std::string_view s) {
  const auto space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

std::string join_names(std::span<const std::string_view> names, std::string_view last_sep) {
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += (i + 1 == names.size()) ? std::string(last_sep) : std::string(", ");
    out += names[i];
  }
  return out;
}

}  // namespace dsim::config
