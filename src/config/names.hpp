// Names the config schema accepts, and "did you mean" suggestions for the ones
// it does not. Shared by the loader (load_model), the checker (validate) and
// the topology generators (which own the topology kinds: config/topology.hpp).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "dsim/engine.hpp"

namespace dsim::config {

// The engines' and partitioners' names: one table each, in dsim/engine.hpp.
inline constexpr const auto& kSyncModes = kEngineNames;
inline constexpr const auto& kPartitioners = kPartitioningNames;
inline constexpr std::array<std::string_view, 2> kQueues = {"binary_heap", "quad_heap"};
inline constexpr std::array<std::string_view, 2> kStateSavings = {"every_event", "periodic"};
// simulation.state_saving_period: 1 (= every event) to this many events.
inline constexpr std::int64_t kMaxStateSavingPeriod = 1'000'000;
inline constexpr std::array<std::string_view, 2> kOutputFormats = {"csv", "json"};
bool contains(std::span<const std::string_view> names, std::string_view name);

// Edit distance: insertions, deletions, substitutions and swaps of adjacent
// letters each cost 1.
std::size_t edit_distance(std::string_view a, std::string_view b);

// " (did you mean 'x'?)" naming the candidate closest to `word`, or "" if none
// is close enough to be a plausible typo.
std::string did_you_mean(std::string_view word, std::span<const std::string_view> candidates);

// `s` without leading and trailing white space (std::isspace).
std::string_view trim(std::string_view s);

// "a, b or c".
std::string join_names(std::span<const std::string_view> names, std::string_view last_sep = " or ");

}  // namespace dsim::config
