#pragma once
// Std
#include <cstddef>
#include <vector>

namespace camsight::image {

/// scikit-image's `resize(image, (newHeight, newWidth), order=3, preserve_range=True, anti_aliasing=True)` of a
/// single-channel image (what MedSAM's inference script applies), in double precision:
/// a Gaussian pre-filter on shrinking axes (sigma = (in/out - 1) / 2, truncated at 4 sigma, mirror boundary), then
/// scipy.ndimage.zoom's cubic B-spline interpolation (exact mirror-boundary prefilter, grid_mode sampling at
/// (o + 0.5) * in / out - 0.5, mirrored taps), clipped to the input's [min, max]. Not Keys bicubic.
std::vector<double> resizeCubicSpline(const std::vector<double>& in, std::size_t width, std::size_t height,
                                      std::size_t newWidth, std::size_t newHeight);

}  // namespace camsight::image
