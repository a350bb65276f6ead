// The synchronization engines and the partitioners, with the one table of
// their names (the values of `simulation.sync` and `simulation.partitioner`).
// The config checker, the planner, `dsim run --help` and the result files all
// take the names from here.
//
//   std::optional<dsim::Engine> e = dsim::engine_from_name("conservative");
//   std::string_view name = dsim::engine_name(dsim::Engine::kOptimistic);
//
// Header only, constexpr; safe from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace dsim {

// How partitions keep simulated time consistent (`simulation.sync`). kAuto is
// only ever asked for: a plan resolves it to one of the other three.
enum class Engine : std::uint8_t { kAuto, kSequential, kConservative, kOptimistic };

struct EngineInfo {
  Engine engine;
  std::string_view name;         // as written in a config and in result files
  std::string_view description;  // one line, for help texts
};

// Every engine, in the order help texts and error messages list them.
inline constexpr std::array<EngineInfo, 4> kEngines = {{
    {Engine::kAuto, "auto", "decided before the run from threads, processes and lookaheads"},
    {Engine::kSequential, "sequential", "one thread, one event queue"},
    {Engine::kConservative, "conservative",
     "partitions in parallel, in windows as wide as the smallest lookahead between them"},
    {Engine::kOptimistic, "optimistic",
     "Time Warp: partitions run ahead and roll back when needed; any lookahead"},
}};

// The names of kEngines, in its order.
inline constexpr std::array<std::string_view, kEngines.size()> kEngineNames = [] {
  std::array<std::string_view, kEngines.size()> names{};
  for (std::size_t i = 0; i < kEngines.size(); ++i) names[i] = kEngines[i].name;
  return names;
}();

constexpr std::string_view engine_name(Engine engine) {
  for (const auto& e : kEngines)
    if (e.engine == engine) return e.name;
  return "?";
}

// The engine called `name`, or nullopt for a name that is none.
constexpr std::optional<Engine> engine_from_name(std::string_view name) {
  for (const auto& e : kEngines)
    if (e.name == name) return e.engine;
  return std::nullopt;
}

// Entity -> partition mapping (`simulation.partitioner`). A partitioner never
// changes results, only speed.
enum class Partitioning : std::uint8_t { kBlock, kRoundRobin, kGraph };

struct PartitioningInfo {
  Partitioning partitioning;
  std::string_view name;
  std::string_view description;
};

inline constexpr std::array<PartitioningInfo, 3> kPartitionings = {{
    {Partitioning::kBlock, "block", "contiguous runs of entity ids"},
    {Partitioning::kRoundRobin, "round_robin", "entity i to partition i mod partitions"},
    {Partitioning::kGraph, "graph", "METIS on the link graph: fewest edges between partitions"},
}};

inline constexpr std::array<std::string_view, kPartitionings.size()> kPartitioningNames = [] {
  std::array<std::string_view, kPartitionings.size()> names{};
  for (std::size_t i = 0; i < kPartitionings.size(); ++i) names[i] = kPartitionings[i].name;
  return names;
}();

constexpr std::string_view partitioning_name(Partitioning partitioning) {
  for (const auto& p : kPartitionings)
    if (p.partitioning == partitioning) return p.name;
  return "?";
}

constexpr std::optional<Partitioning> partitioning_from_name(std::string_view name) {
  for (const auto& p : kPartitionings)
    if (p.name == name) return p.partitioning;
  return std::nullopt;
}

}  // namespace dsim
