#pragma once
// Local
#include "core/image/Geometry.h"

// Std
#include <array>
#include <cstddef>
#include <vector>

namespace camsight::image {

/// A voxel grid: counts along i (columns), j (rows), k (slices) and its placement in patient space.
struct Grid {
    std::array<std::size_t, 3> size{1, 1, 1};
    Geometry geometry;

    std::size_t count() const { return size[0] * size[1] * size[2]; }
};

/// True when two grids put every voxel at the same place: equal counts, spacing within 1e-4 relative, origins
/// within 1e-3 of a voxel, direction cosines within 1e-4.
bool sameGrid(const Grid& a, const Grid& b);

/// Values of a single-component image on grid `from` resampled onto grid `to` by trilinear interpolation in patient
/// space (voxel values at voxel centres). Points of `to` outside `from` (beyond half a voxel) get `outside`.
/// A grid with one slice is treated as a slab one voxel thick. `covered`, when given, receives how many points of
/// `to` fell inside `from`.
std::vector<float> resampleLinear(const std::vector<float>& values, const Grid& from, const Grid& to, float outside = 0.0f,
                                  std::size_t* covered = nullptr);

/// Half-pixel bilinear resize of one 2D plane (pixel centres at (i + 0.5) * scale), edges clamped: how a
/// low-resolution map of a whole slice is brought to the slice's size (as OpenCV's INTER_LINEAR enlarges).
std::vector<float> resizePlaneBilinear(const std::vector<float>& in, std::size_t width, std::size_t height,
                                       std::size_t newWidth, std::size_t newHeight);

}  // namespace camsight::image
