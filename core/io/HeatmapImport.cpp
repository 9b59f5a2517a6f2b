#include "core/io/HeatmapImport.h"

// Local
#include "core/io/Npy.h"

// Std
#include <cmath>
#include <stdexcept>

namespace camsight::io {

ImportedHeatmap importHeatmapNpy(const std::string& path, const image::Grid& volume, std::size_t slice)
{
    const NpyArray a = readNpy(path);
    std::vector<std::size_t> shape = a.shape;
    while (shape.size() > 2 && shape.front() == 1)
        shape.erase(shape.begin());
    const std::size_t nx = volume.size[0], ny = volume.size[1], nz = volume.size[2];
    const std::string volumeShape = "(" + std::to_string(nz) + ", " + std::to_string(ny) + ", " + std::to_string(nx) + ")";
    auto mismatch = [&](const std::string& why) {
        return std::runtime_error(path + ": heatmap of shape " + a.shapeString() + " cannot be placed on the volume " +
                                  volumeShape + " (slices, rows, columns): " + why);
    };
    if (a.type == NpyType::Bool)
        throw mismatch("a boolean array is a mask, not a heatmap");
    std::vector<float> v = a.toFloat();
    for (float x : v)
        if (!std::isfinite(x))
            throw std::runtime_error(path + ": the heatmap contains NaN or infinite values");
    ImportedHeatmap out;
    if (shape.size() == 3) {
        if (shape[0] != nz || shape[1] != ny || shape[2] != nx)
            throw mismatch("a 3D heatmap must have the volume's shape");
        out.values = std::move(v);
        out.how = "exact grid";
        out.coveredVoxels = out.values.size();
        return out;
    }
    if (shape.size() != 2)
        throw mismatch("a heatmap is H x W or D x H x W");
    if (slice >= nz)
        throw std::invalid_argument("slice " + std::to_string(slice) + " is outside the volume's " + std::to_string(nz) +
                                    " slices");
    const std::size_t h = shape[0], w = shape[1];
    std::vector<float> plane;
    if (h == ny && w == nx) {
        plane = std::move(v);
        out.how = "exact slice";
    } else {
        const double aspectMap = double(w) / double(h), aspectSlice = double(nx) / double(ny);
        if (std::fabs(aspectMap / aspectSlice - 1.0) > 0.01)
            throw mismatch("a 2D heatmap must have the slice's size " + std::to_string(ny) + " x " + std::to_string(nx) +
                           " or its aspect ratio");
        if (w > nx || h > ny)
            throw mismatch("a 2D heatmap larger than the slice is ambiguous");
        plane = image::resizePlaneBilinear(v, w, h, nx, ny);
        out.how = "enlarged from " + std::to_string(h) + " x " + std::to_string(w) + " (bilinear, whole slice)";
    }
    out.values.assign(volume.count(), 0.0f);
    std::copy(plane.begin(), plane.end(), out.values.begin() + slice * nx * ny);
    out.coveredVoxels = nx * ny;
    return out;
}

}  // namespace camsight::io
