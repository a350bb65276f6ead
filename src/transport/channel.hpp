#pragma once

#include <cstdint>

namespace dsim::detail {

// The two kinds of batches a transport carries between partitions. A drain
// hands over every kEvents batch before any kAntiMessages batch, so an
// anti-message (a cancellation of an event sent earlier on kEvents) never
// reaches its receiver before the event it cancels.
enum class Channel : std::uint8_t { kEvents = 0, kAntiMessages = 1 };
inline constexpr unsigned kChannels = 2;

}  // namespace dsim::detail
