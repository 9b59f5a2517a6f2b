#pragma once
// Local
#include "core/metrics/RankOrder.h"

// Std
#include <cstddef>
#include <cstdint>
#include <vector>

/// The heatmap read as a segmentation: the region at or above a threshold, compared with the mask.
namespace camsight::metrics {

struct OverlapScores {
    double threshold = 0;     ///< the value the region was cut at
    std::size_t area = 0;     ///< voxels in the region B
    std::size_t intersection = 0;
    double dice = 0;          ///< 2|B∩S| / (|B| + |S|); NaN when both are empty
    double iou = 0;           ///< |B∩S| / |B∪S|; NaN when both are empty
    double ioa = 0;           ///< |B∩S| / |B|: the share of the region that lies on the mask; NaN for an empty region
};

/// Region B = {a >= fraction * max(a)} (inclusive; fraction * max computed in double). Note the consequences:
/// an all-zero or constant positive map selects every voxel; a map whose maximum is negative selects none.
OverlapScores overlapAtFraction(const float* a, const std::uint8_t* s, std::size_t n, double fraction);

/// Region B = {a >= threshold}, or {a > threshold} when `inclusive` is false.
OverlapScores overlapAtThreshold(const float* a, const std::uint8_t* s, std::size_t n, double threshold,
                                 bool inclusive = true);

/// The scores of a region of `area` voxels, `intersection` of them in a mask of `maskArea` voxels.
OverlapScores overlapFromCounts(double threshold, std::size_t area, std::size_t intersection, std::size_t maskArea);

/// Size of the region {a >= threshold} ({a > threshold} when not inclusive), by binary search in the heatmap's order:
/// the region is the first `area` ranks, so its intersection with a mask is a prefix count in rank order.
std::size_t regionArea(const float* a, const RankOrder& order, double threshold, bool inclusive = true);

/// Otsu's threshold as scikit-image's `threshold_otsu(a, nbins=256)` computes it: 256 equal bins over [min, max],
/// the bin centre maximising the between-class variance. The Otsu region is {a > threshold} (scikit-image's
/// convention). A constant map has no threshold: its value is returned and the region is empty.
double otsuThreshold(const float* a, std::size_t n);
/// The same threshold from the heatmap's order (no NaN in `a`): the histogram is counted by binary searches.
double otsuThreshold(const float* a, const RankOrder& order);

/// Mean of the finite values (NaN cases, e.g. empty mask and empty region, are left out); NaN if none is finite.
double meanFinite(const std::vector<double>& values, std::size_t* used = nullptr);

}  // namespace camsight::metrics
