#pragma once
// Local
#include "core/image/Resample.h"

// Std
#include <string>
#include <vector>

/// Heatmaps computed elsewhere, brought onto a volume's voxel grid.
namespace camsight::io {

struct ImportedHeatmap {
    std::vector<float> values;  ///< on the target grid (x fastest), one value per voxel
    std::string how;            ///< how it was mapped, for the user ("exact grid", "resampled in patient space", ...)
    std::size_t coveredVoxels = 0;
};

/// A .npy heatmap (any real dtype): D x H x W equal to the volume (slices, rows, columns); or H x W for one slice
/// `slice` of it (the other slices get 0), equal to the slice's size or a lower-resolution map of the whole slice
/// with the same aspect ratio (within 1%), enlarged by half-pixel bilinear interpolation. Leading axes of length 1
/// are ignored. Throws std::runtime_error naming the file and both shapes when it cannot match.
ImportedHeatmap importHeatmapNpy(const std::string& path, const image::Grid& volume, std::size_t slice = 0);

/// A NIfTI/NRRD/MetaImage heatmap (full build): its own geometry places it; the same grid is copied, any other is
/// resampled trilinearly in patient space (0 outside it). Throws when it does not overlap the volume at all.
ImportedHeatmap importHeatmapImage(const std::string& path, const image::Grid& volume);

}  // namespace camsight::io
