#pragma once
// Std
#include <cstdint>
#include <vector>

namespace camsight::ml {

/// An 8-bit RGB image, rows of width * 3 bytes, as SAM and CLIP take it.
struct RgbImage {
    int width = 0, height = 0;
    std::vector<std::uint8_t> rgb;
};

}  // namespace camsight::ml
