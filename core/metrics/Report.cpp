#include "core/metrics/Report.h"

// Local
#include "core/metrics/Localization.h"
#include "core/metrics/Overlap.h"
#include "core/metrics/RankOrder.h"

// Std
#include <cmath>
#include <cstdio>
#include <limits>
#include <optional>
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
    std::optional<RankOrder> ownOrder;
    if (!cachedOrder)
        ownOrder.emplace(a, n);
    const RankScores ranks = rankScores(cachedOrder ? *cachedOrder : *ownOrder, s, opt.topK);
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
    const double peakPx = peakDistance(a, s, unit);
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
    put("peak_distance_mm", isotropic ? peakPx : peakDistance(a, s, shape));

    for (double t : opt.thresholdFractions) {
        const std::string k = fractionKey(t);
        const OverlapScores o = overlapAtThreshold(a, s, n, t * double(m.max), true);
        put("thr" + k + "_value", o.threshold);
        put("thr" + k + "_area", double(o.area));
        put("dice_thr" + k, o.dice);
        put("iou_thr" + k, o.iou);
        put("ioa_thr" + k, o.ioa);
    }
    const double otsu = otsuThreshold(a, n);
    const OverlapScores o = overlapAtThreshold(a, s, n, otsu, false);
    put("otsu_value", otsu);
    put("otsu_area", double(o.area));
    put("dice_otsu", o.dice);
    put("iou_otsu", o.iou);
    put("ioa_otsu", o.ioa);
    return r;
}

}  // namespace camsight::metrics
