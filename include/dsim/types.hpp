// Basic vocabulary shared by every part of dsim: simulated time, entity ids,
// and the error type that carries a user-facing message.
#pragma once

#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>

#include "dsim/export.hpp"

namespace dsim {

// Simulated time. Plain double: every engine computes `now + delay` the same
// way, so timestamps are bit-identical whatever the layout.
using Time = double;

inline constexpr Time kTimeInfinity = std::numeric_limits<Time>::infinity();

// Global entity id, dense from 0 in declaration order of the config's groups.
// 32 bits: a simulation holds at most kMaxEntities entities.
using EntityId = std::uint32_t;

inline constexpr EntityId kNoEntity = std::numeric_limits<EntityId>::max();
inline constexpr std::uint64_t kMaxEntities = kNoEntity;  // ids 0 .. kNoEntity-1

// Largest event payload carried inline in an event envelope (bytes).
inline constexpr std::size_t kMaxPayloadBytes = 32;

namespace detail {
// 128-bit unsigned arithmetic (GCC/Clang extension; __extension__ keeps
// -Wpedantic quiet).
__extension__ typedef unsigned __int128 UInt128;
}  // namespace detail

// An expected failure: bad config, bad parameter, model error, I/O problem.
// The message names the file, key, value or entity; the CLI prints it as one
// line and exits non-zero (2 for bad input, 1 for run-time failures).
class DSIM_API Error : public std::runtime_error {
 public:
  enum class Kind { kInput, kRuntime };
  explicit Error(const std::string& message, Kind kind = Kind::kInput)
      : std::runtime_error(message), kind_(kind) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

}  // namespace dsim
