#pragma once
// Local
#include "core/image/Volume.h"
#include "core/image/WindowLevel.h"

// Qt
#include <QImage>

namespace camsight::render {

/// Greyscale image of slice `z` of `volume` through the window (one 8-bit pixel per voxel, row y = image row y).
template <class T>
QImage sliceImage(const image::Volume<T>& volume, std::size_t z, const image::WindowLevel& wl);

}  // namespace camsight::render
