#include "ui/render/SeriesSlice.h"

// Std
#include <cstring>
#include <stdexcept>
#include <vector>

namespace camsight::render {

QImage seriesSlice(const dicom::LoadedSeries& s, std::size_t z, const image::WindowLevel& window)
{
    if (z >= s.dims.z)
        throw std::out_of_range("slice " + std::to_string(z) + " outside a series of " + std::to_string(s.dims.z));
    const int w = int(s.dims.x), h = int(s.dims.y);
    const std::size_t plane = s.dims.x * s.dims.y, first = z * plane;
    if (s.type == dicom::PixelType::Rgb8) {
        QImage img(w, h, QImage::Format_RGB888);
        for (int y = 0; y < h; ++y)
            std::memcpy(img.scanLine(y), s.voxels.data() + (first + std::size_t(y) * s.dims.x) * 3, s.dims.x * 3);
        return img;
    }
    QImage img(w, h, QImage::Format_Grayscale8);
    std::vector<double> row(s.dims.x);
    for (int y = 0; y < h; ++y) {
        const std::size_t base = first + std::size_t(y) * s.dims.x;
        for (std::size_t x = 0; x < s.dims.x; ++x)
            row[x] = s.value(base + x);
        image::applyWindow(row.data(), row.size(), window, img.scanLine(y));
    }
    return img;
}

}  // namespace camsight::render
