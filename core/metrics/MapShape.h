#pragma once
// Std
#include <cstddef>

namespace camsight::metrics {

/// Extent and voxel spacing of a heatmap/mask pair. Both are C-ordered: index = x + nx * (y + ny * z), so a 2D
/// map of H rows and W columns is {nx = W, ny = H, nz = 1}. Spacing is in millimetres (1 = pixel units).
struct MapShape {
    std::size_t nx = 0, ny = 0, nz = 1;
    double sx = 1.0, sy = 1.0, sz = 1.0;

    std::size_t count() const { return nx * ny * nz; }
};

}  // namespace camsight::metrics
