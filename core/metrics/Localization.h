#pragma once
// Local
#include "core/metrics/MapShape.h"
#include "core/metrics/RankOrder.h"

// Std
#include <cstddef>
#include <cstdint>
#include <vector>

/// Heatmap-vs-mask localization metrics. `a` is the heatmap (float32, any sign), `s` the mask (non-zero = inside),
/// both of `n` voxels in the same C order. Results are double; NaN means "undefined for this input".
///
/// Quantus-named metrics follow Quantus v0.5.3 `evaluate_instance` on the map as given (Quantus' own
/// normalise/abs preprocessing is quantusPreprocess()). Edge cases, as the references behave:
/// - empty mask: every Quantus-style metric is NaN (v0.5.3; Quantus head's PointingGame 1.0 is a bug not copied).
/// - full mask: AUROC and AUC-Judd are NaN (no negatives); the others are 1 for a non-negative map.
/// - constant, all-zero or all-negative map: Quantus refuses it ("invalid input", see isQuantusValidHeatmap());
///   these functions return what the unguarded v0.5.3 formula gives (all-zero: RMA and AttributionLocalisation NaN).
/// - ties at the maximum: pointingGame() counts a hit if any tied maximum is in the mask; the first-argmax
///   variants use the first maximum in C order, as numpy/torch argmax do.
/// - ties in rank metrics: a stable descending order (equal values: lower index first), within the interval of
///   values Quantus can return under numpy's unstable argsort.
namespace camsight::metrics {

/// One pass over a heatmap/mask pair: what the value-based metrics need.
struct MapSummary {
    std::size_t n = 0, maskArea = 0, firstArgmax = 0, nMaxima = 0, maximaInMask = 0;
    float max = 0, min = 0;
    double sum = 0, sumInMask = 0;          ///< of a
    double energy = 0, energyInMask = 0;    ///< of max(a, 0)
    bool allNegative = true, allEqual = true;
};
MapSummary summarize(const float* a, const std::uint8_t* s, std::size_t n);

/// The value-based metrics of one pair from its summary (semantics of the single functions below).
struct ValueScores {
    double pointingGame, attributionLocalisation, relevanceMass, energy;
};
ValueScores valueScores(const MapSummary& m);

/// The rank-based metrics of one pair, from one sweep over the shared order (see the single functions below).
/// hitsAtCuts[i]: mask voxels among the first cuts[i] ranks (the intersection of a thresholded region with the mask,
/// see regionArea() in Overlap.h).
struct RankScores {
    double auroc, auprc, aucJudd, topK, rankAccuracy;
    std::vector<std::size_t> hitsAtCuts;
};
RankScores rankScores(const RankOrder& order, const std::uint8_t* s, std::size_t topK = 1000,
                      const std::vector<std::size_t>& cuts = {});

/// Quantus' `general_preprocess`: optionally divide by max |a| (unchanged when that is 0), then take |a|; float32.
std::vector<float> quantusPreprocess(const float* a, std::size_t n, bool normalise, bool absolute);

/// False where Quantus' `assert_attributions` refuses the map: all values equal, all zero, or all negative.
bool isQuantusValidHeatmap(const float* a, std::size_t n);

/// Quantus PointingGame: 1 if any maximum of `a` lies in the mask. weighted: a hit scores 1 - |s|/n. Empty mask: NaN.
double pointingGame(const float* a, const std::uint8_t* s, std::size_t n, bool weighted = false);

/// 1 if the first maximum (C order) lies in the mask, else 0 (also 0 for an empty mask).
double pointingGameFirstArgmax(const float* a, const std::uint8_t* s, std::size_t n);

/// Classic pointing game with a tolerance (Zhang et al.; TorchRay `PointingGame`): a hit if some mask voxel lies at a
/// Euclidean distance strictly below `tolerance` voxels from the first maximum (anyMaximum: from any maximum).
/// Distances are in voxel units, ignoring spacing, as the reference counts pixels. Empty mask: 0.
double pointingGameTolerance(const float* a, const std::uint8_t* s, const MapShape& shape, double tolerance = 15.0,
                             bool anyMaximum = false);

/// Quantus AttributionLocalisation (v0.5.3): r = sum_{s} a / sum a; NaN if r > 1 or the mask is empty;
/// weighted: r * |s| / n.
double attributionLocalisation(const float* a, const std::uint8_t* s, std::size_t n, bool weighted = false);

/// Quantus RelevanceMassAccuracy: sum_{s} a / sum a (0/0 NaN, x/0 +-inf). Empty mask: NaN.
double relevanceMassAccuracy(const float* a, const std::uint8_t* s, std::size_t n);

/// Energy-based pointing game (Score-CAM paper): sum_{s} max(a,0) / sum max(a,0); NaN without positive energy.
double energyPointingGame(const float* a, const std::uint8_t* s, std::size_t n);

/// Quantus RelevanceRankAccuracy: fraction of the |s| highest-ranked voxels that lie in the mask. Empty mask: NaN.
double relevanceRankAccuracy(const RankOrder& order, const std::uint8_t* s);

/// Quantus TopKIntersection: (1/k) * #(mask voxels among the k highest-ranked). Empty mask: NaN.
double topKIntersection(const RankOrder& order, const std::uint8_t* s, std::size_t k = 1000);

/// Area under the ROC curve of `a` as a score for `s` (= Quantus AUC, sklearn roc_curve + auc): the Mann-Whitney
/// statistic with ties counted one half. NaN for an empty or a full mask.
double auroc(const RankOrder& order, const std::uint8_t* s);

/// Area under the precision-recall curve as torcheval's `binary_auprc(input=a, target=s)` computes it: one point per
/// distinct value (ties grouped), step-wise sum of precision times recall increments, (recall 0, precision 1)
/// appended. Precision and recall are rounded to float32 as torcheval does. Empty mask: 0.
double auprc(const RankOrder& order, const std::uint8_t* s);

/// AUC-Judd as the seed study's notebook computes it: each mask voxel's heatmap value (row-major order, duplicates
/// kept) is a threshold giving (fp, tp) rates with `>=`, each rounded to 4 decimals (Python `round`), (0,0) first and
/// (1,1) last, stable-sorted by fp, trapezoid rule. Empty mask: 0.5; full mask: NaN.
double aucJudd(const float* a, const RankOrder& order, const std::uint8_t* s);

/// Distance from the first maximum of `a` to the nearest mask voxel, using the spacing of `shape` (0 when the
/// maximum is inside the mask). NaN for an empty mask.
double peakDistance(const float* a, const std::uint8_t* s, const MapShape& shape);

/// Distance from `voxel` (C-order index) to the nearest mask voxel, using the spacing of `shape`. NaN for an empty mask.
double distanceToMask(const std::uint8_t* s, const MapShape& shape, std::size_t voxel);

}  // namespace camsight::metrics
