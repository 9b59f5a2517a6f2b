#pragma once
// Local
#include "core/ml/RgbImage.h"

// Std
#include <string>

namespace camsight::cli {

/// An image file as 8-bit RGB for SAM and CLIP: .npy (uint8 H x W x 3 or H x W; other types scaled from their
/// min-max range), and in the full build PNG, JPEG or a single DICOM file through ITK. Throws std::runtime_error naming
/// the file.
ml::RgbImage readImage(const std::string& path);

}  // namespace camsight::cli
