// Names the config schema accepts, and "did you mean" suggestions for the ones
// it does not. Shared by the loader (load_model) and the checker (validate).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace dsim::config {

inline constexpr std::array<std::string_view, 4> kSyncModes = {"auto", "sequential", "conservative",
                                                               "optimistic"};
inline constexpr std::array<std::string_view, 3> kPartitioners = {"block", "round_robin", "graph"};
inline constexpr std::array<std::string_view, 2> kQueues = {"binary_heap", "quad_heap"};
inline constexpr std::array<std::string_view, 2> kStateSavings = {"every_event", "periodic"};
// simulation.state_saving_period: 1 (= every event) to this many events.
inline constexpr std::int64_t kMaxStateSavingPeriod = 1'000'000;
inline constexpr std::array<std::string_view, 2> kOutputFormats = {"csv", "json"};
inline constexpr std::array<std::string_view, 13> kTopologies = {
    "one_to_one",  "all_to_all",     "any",         "ring",       "grid",   "torus",    "complete",
    "erdos_renyi", "random_regular", "small_world", "scale_free", "random", "edge_list"};

// Link keys that are options of some topology kind.
inline constexpr std::array<std::string_view, 9> kTopologyOptionKeys = {
    "k", "degree", "m", "edges", "rows", "cols", "p", "file", "symmetric"};

// The option keys `kind` accepts (empty for unknown kinds and kinds without
// options).
std::span<const std::string_view> topology_option_keys(std::string_view kind);

bool contains(std::span<const std::string_view> names, std::string_view name);

// Edit distance: insertions, deletions, substitutions and swaps of adjacent
// letters each cost 1.
std::size_t edit_distance(std::string_view a, std::string_view b);

// " (did you mean 'x'?)" naming the candidate closest to `word`, or "" if none
// is close enough to be a plausible typo.
std::string did_you_mean(std::string_view word, std::span<const std::string_view> candidates);

// "a, b or c".
std::string join_names(std::span<const std::string_view> names, std::string_view last_sep = " or ");

}  // namespace dsim::config
