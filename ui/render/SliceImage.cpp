#include "ui/render/SliceImage.h"

// Std
#include <cstdint>
#include <stdexcept>

namespace camsight::render {

template <class T>
QImage sliceImage(const image::Volume<T>& volume, std::size_t z, const image::WindowLevel& wl)
{
    const auto& d = volume.dims();
    if (z >= d.z)
        throw std::out_of_range("slice " + std::to_string(z) + " outside a volume of " + image::toString(d));
    QImage img(static_cast<int>(d.x), static_cast<int>(d.y), QImage::Format_Grayscale8);
    const T* src = volume.slice(z);
    for (std::size_t y = 0; y < d.y; ++y)
        image::applyWindow(src + y * d.x, d.x, wl, img.scanLine(static_cast<int>(y)));
    return img;
}

template QImage sliceImage<std::int16_t>(const image::Volume<std::int16_t>&, std::size_t, const image::WindowLevel&);
template QImage sliceImage<std::uint16_t>(const image::Volume<std::uint16_t>&, std::size_t, const image::WindowLevel&);
template QImage sliceImage<float>(const image::Volume<float>&, std::size_t, const image::WindowLevel&);
template QImage sliceImage<std::uint8_t>(const image::Volume<std::uint8_t>&, std::size_t, const image::WindowLevel&);

}  // namespace camsight::render
