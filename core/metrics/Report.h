#pragma once
// Local
#include "core/metrics/MapShape.h"

// Std
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace camsight::metrics {

struct ReportOptions {
    std::vector<double> thresholdFractions{0.2, 0.5, 0.8};  ///< Dice/IoU/IoA at these fractions of the maximum
    std::size_t topK = 1000;                                ///< Quantus TopKIntersection's k
    double pointingTolerance = 15.0;                        ///< classic pointing game tolerance, voxels
};

/// Every localization metric of one heatmap/mask pair, by name. Names follow ../shared/golden/metrics: Quantus'
/// class names for its metrics (v0.5.3 semantics on the map as given), snake_case for the others.
struct Report {
    std::vector<std::pair<std::string, double>> values;
    /// NaN if `name` is absent.
    double get(const std::string& name) const;
};

class RankOrder;

/// Computes all metrics from one summary pass and one shared order of the heatmap. While only the mask changes (every
/// brush stroke), pass the heatmap's `order` computed once (RankOrder(heatmap, n)) to skip the sort.
/// Throws std::invalid_argument for an empty shape, a heatmap containing NaN, or an order of another size.
Report evaluate(const float* heatmap, const std::uint8_t* mask, const MapShape& shape, const ReportOptions& options = {},
                const RankOrder* order = nullptr);

}  // namespace camsight::metrics
