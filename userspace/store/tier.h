// The storage tiers: raw intervals, then minute and hour rollups.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace perfbpf {

enum class Tier : uint8_t { raw = 0, minute = 1, hour = 2 };
inline constexpr size_t kTiers = 3;
// Resolution of each tier's points (raw: the collection interval itself).
inline constexpr std::array<int64_t, kTiers> kTierResolutionMs = {0, 60'000, 3'600'000};

}  // namespace perfbpf
