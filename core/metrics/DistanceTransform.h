#pragma once
// Local
#include "core/metrics/MapShape.h"

// Std
#include <cstdint>
#include <vector>

namespace camsight::metrics {

/// Squared Euclidean distance from every voxel to the nearest mask voxel (non-zero in `s`), in the units of
/// `shape`'s spacing (exact, separable; Felzenszwalb & Huttenlocher 2012). Infinity everywhere for an empty mask.
std::vector<double> squaredDistanceToMask(const std::uint8_t* s, const MapShape& shape);

}  // namespace camsight::metrics
