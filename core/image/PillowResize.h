#pragma once
// Std
#include <cstddef>
#include <cstdint>
#include <vector>

namespace camsight::image {

enum class PillowFilter { Bilinear, Bicubic };

/// Pillow's `Image.resize(size, BILINEAR or BICUBIC)` on 8-bit pixels, bit for bit: separable, horizontal pass first,
/// each pass rounded and clipped to 8 bits, the filter widened by the scale factor when shrinking (antialiasing),
/// weights in 22-bit fixed point. Bicubic is Keys' kernel with a = -0.5 (CLIP's preprocessing uses it).
std::vector<std::uint8_t> resizePillow(const std::uint8_t* src, std::size_t width, std::size_t height,
                                       std::size_t channels, std::size_t newWidth, std::size_t newHeight,
                                       PillowFilter filter);

/// Pillow's `Image.resize(size, BILINEAR)` on 8-bit pixels, bit for bit (what SAM's ResizeLongestSide applies):
/// separable, the horizontal pass first and rounded to 8 bits, then the vertical pass; a triangle filter widened by
/// the scale factor when shrinking (antialiasing); weights in 22-bit fixed point. `channels` values per pixel,
/// interleaved, rows of `width * channels`.
std::vector<std::uint8_t> resizeBilinearPillow(const std::uint8_t* src, std::size_t width, std::size_t height,
                                               std::size_t channels, std::size_t newWidth, std::size_t newHeight);

}  // namespace camsight::image
