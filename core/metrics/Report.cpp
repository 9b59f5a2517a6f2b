#include "core/metrics/Report.h"

// Local
#include "core/metrics/Localization.h"
#include "core/metrics/Overlap.h"
#include "core/metrics/RankOrder.h"

// Std
#include <cmath>
#include <cstdio>
#include <limits>
#include <stdexcept>

namespace camsight::metrics {
namespace {

std::string fractionKey(double t)
{
    // 0.2 -> "0p2", as the golden files name them.
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", t);
    std::string s = buf;
    for (auto& c : s)
        if (c == '.')
            c = 'p';
    return s;
}

}  // namespace

double Report::get(const std::string& name) const
{
    for (const auto& [k, v] : values)
        if (k == name)
            return v;
    return std::numeric_limits<double>::quiet_NaN();
}

Report evaluate(const float* a, const std::uint8_t* s, const MapShape& shape, const ReportOptions& opt,
                const RankOrder* cachedOrder)
{
    const std::size_t n = shape.count();
    if (n == 0)
        throw std::invalid_argument("heatmap is empty");
    for (std::size_t i = 0; i < n; ++i)
        if (std::isnan(a[i]))
            throw std::invalid_argument("heatmap contains NaN at voxel " + std::to_string(i));

    // One summary pass and one shared order feed every metric (the single-metric functions recompute them).
    const MapSummary m = summarize(a, s, n);
    if (cachedOrder && cachedOrder->size() != n)
        throw std::invalid_argument("cached heatmap order has " + std::to_string(cachedOrder->size()) + " voxels, heatmap " +
                                    std::to_string(n));
    thread_local RankOrder ownOrder;  // its memory is reused from one evaluation to the next
    if (!cachedOrder)
        ownOrder.assign(a, n);
    const RankOrder& order = cachedOrder ? *cachedOrder : ownOrder;
    // Thresholded regions are prefixes of the order: their sizes by binary search, their intersections with the
    // mask counted in the rank sweep.
    std::vector<double> thresholds;
    std::vector<std::size_t> cuts;
    for (double t : opt.thresholdFractions) {
        thresholds.push_back(t * double(m.max));
        cuts.push_back(regionArea(a, order, thresholds.back(), true));
    }
    const double otsu = otsuThreshold(a, order);
    thresholds.push_back(otsu);
    cuts.push_back(regionArea(a, order, otsu, false));
    const RankScores ranks = rankScores(order, s, opt.topK, cuts);
    const bool emptyMask = m.maskArea == 0;

    Report r;
    auto put = [&](const std::string& k, double v) { r.values.emplace_back(k, v); };
    put("n_pixels", double(n));
    put("mask_area", double(m.maskArea));
    put("heatmap_max", m.max);
    put("heatmap_min", m.min);
    put("n_maxima", double(m.nMaxima));
    put("quantus_valid_input", !m.allNegative && !m.allEqual ? 1.0 : 0.0);

    // Quantus v0.5.3 semantics (see Localization.h).
    const ValueScores values = valueScores(m);
    put("PointingGame", values.pointingGame);
    put("AttributionLocalisation", values.attributionLocalisation);
    put("TopKIntersection", ranks.topK);
    put("RelevanceMassAccuracy", values.relevanceMass);
    put("RelevanceRankAccuracy", ranks.rankAccuracy);
    put("AUC", ranks.auroc);
    put("auprc_torcheval", ranks.auprc);
    put("auc_judd", ranks.aucJudd);

    put("pointing_game_first_argmax_in_mask", s[m.firstArgmax] ? 1.0 : 0.0);
    put("pointing_game_any_maximum_in_mask", m.maximaInMask ? 1.0 : 0.0);
    MapShape unit = shape;
    unit.sx = unit.sy = unit.sz = 1.0;
    const double peakPx = distanceToMask(s, unit, m.firstArgmax);
    const double tol2 = opt.pointingTolerance * opt.pointingTolerance;
    put("pointing_game_tol15", !emptyMask && peakPx * peakPx < tol2 ? 1.0 : 0.0);
    // With one maximum, or one inside the mask, the answer is already known; a plateau needs the full search.
    const double tolAny = emptyMask                ? 0.0
                          : m.maximaInMask > 0     ? 1.0
                          : m.nMaxima == 1         ? (peakPx * peakPx < tol2 ? 1.0 : 0.0)
                                                   : pointingGameTolerance(a, s, shape, opt.pointingTolerance, true);
    put("pointing_game_tol15_any_maximum", tolAny);
    put("energy_pointing_game", values.energy);
    put("first_argmax_min_dist_to_mask_px", peakPx);
    const bool isotropic = shape.sx == 1.0 && shape.sy == 1.0 && shape.sz == 1.0;
    put("peak_distance_mm", isotropic ? peakPx : distanceToMask(s, shape, m.firstArgmax));

    for (std::size_t i = 0; i < thresholds.size(); ++i) {
        const bool isOtsu = i == opt.thresholdFractions.size();
        const std::string k = isOtsu ? "otsu" : "thr" + fractionKey(opt.thresholdFractions[i]);
        const OverlapScores o = overlapFromCounts(thresholds[i], cuts[i], ranks.hitsAtCuts[i], m.maskArea);
        put(isOtsu ? "otsu_value" : k + "_value", o.threshold);
        put(isOtsu ? "otsu_area" : k + "_area", double(o.area));
        const std::string suffix = isOtsu ? "otsu" : k;
        put("dice_" + suffix, o.dice);
        put("iou_" + suffix, o.iou);
        put("ioa_" + suffix, o.ioa);
    }
    return r;
}

}  // namespace camsight::metrics
