#include "core/io/HeatmapImport.h"

// Local
#include "core/io/ItkFormats.h"

// Std
#include <cmath>
#include <stdexcept>

namespace camsight::io {

ImportedHeatmap importHeatmapImage(const std::string& path, const image::Grid& volume)
{
    const ImageFile f = readImageFile(path);
    if (f.components != 1)
        throw std::runtime_error(path + ": a heatmap has one value per voxel, this file has " +
                                 std::to_string(f.components));
    for (float x : f.pixels)
        if (!std::isfinite(x))
            throw std::runtime_error(path + ": the heatmap contains NaN or infinite values");
    image::Grid from;
    from.size = f.size;
    from.geometry = f.geometry;
    ImportedHeatmap out;
    if (image::sameGrid(from, volume)) {
        out.values = f.pixels;
        out.how = "exact grid";
        out.coveredVoxels = out.values.size();
        return out;
    }
    out.values = image::resampleLinear(f.pixels, from, volume, 0.0f, &out.coveredVoxels);
    if (out.coveredVoxels == 0)
        throw std::runtime_error(path + ": the heatmap (" + std::to_string(f.size[0]) + " x " + std::to_string(f.size[1]) +
                                 " x " + std::to_string(f.size[2]) +
                                 " voxels) does not overlap the volume in patient space; check its origin and orientation");
    out.how = "resampled in patient space (trilinear)";
    return out;
}

}  // namespace camsight::io
