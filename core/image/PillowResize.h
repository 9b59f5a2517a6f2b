#pragma once
// Std
#include <cstddef>
#include <cstdint>
#include <vector>

namespace camsight::image {

/// Pillow's `Image.resize(size, BILINEAR)` on 8-bit pixels, bit for bit (what SAM's ResizeLongestSide applies):
/// separable, the horizontal pass first and rounded to 8 bits, then the vertical pass; a triangle filter widened by
/// the scale factor when shrinking (antialiasing); weights in 22-bit fixed point. `channels` values per pixel,
/// interleaved, rows of `width * channels`.
std::vector<std::uint8_t> resizeBilinearPillow(const std::uint8_t* src, std::size_t width, std::size_t height,
                                               std::size_t channels, std::size_t newWidth, std::size_t newHeight);

}  // namespace camsight::image
