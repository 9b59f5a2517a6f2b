#pragma once
// Local
#include "core/dicom/SeriesLoad.h"
#include "core/image/WindowLevel.h"

// Qt
#include <QImage>

namespace camsight::render {

/// Slice `z` of a loaded series as the radiologist sees it: grey series through the modality rescale and the window
/// (MONOCHROME1 when the window says inverted) into Grayscale8; colour series as RGB888. Row y = image row y.
/// Throws std::out_of_range for a slice outside the series.
QImage seriesSlice(const dicom::LoadedSeries& series, std::size_t z, const image::WindowLevel& window);

}  // namespace camsight::render
