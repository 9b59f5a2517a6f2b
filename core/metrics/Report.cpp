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

Report evaluate(const float* a, const std::uint8_t* s, const MapShape& shape, const ReportOptions& opt)
{
    const std::size_t n = shape.count();
    if (n == 0)
        throw std::invalid_argument("heatmap is empty");
    std::size_t area = 0, nMaxima = 0;
    float mx = a[0], mn = a[0];
    for (std::size_t i = 0; i < n; ++i) {
        if (std::isnan(a[i]))
            throw std::invalid_argument("heatmap contains NaN at voxel " + std::to_string(i));
        area += s[i] != 0;
        mx = std::max(mx, a[i]);
        mn = std::min(mn, a[i]);
    }
    for (std::size_t i = 0; i < n; ++i)
        nMaxima += a[i] == mx;

    const RankOrder order(a, n);
    Report r;
    auto put = [&](const std::string& k, double v) { r.values.emplace_back(k, v); };
    put("n_pixels", double(n));
    put("mask_area", double(area));
    put("heatmap_max", mx);
    put("heatmap_min", mn);
    put("n_maxima", double(nMaxima));
    put("quantus_valid_input", isQuantusValidHeatmap(a, n) ? 1.0 : 0.0);

    put("PointingGame", pointingGame(a, s, n));
    put("AttributionLocalisation", attributionLocalisation(a, s, n));
    put("TopKIntersection", topKIntersection(order, s, opt.topK));
    put("RelevanceMassAccuracy", relevanceMassAccuracy(a, s, n));
    put("RelevanceRankAccuracy", relevanceRankAccuracy(order, s));
    put("AUC", auroc(order, s));
    put("auprc_torcheval", auprc(order, s));
    put("auc_judd", aucJudd(a, order, s));

    put("pointing_game_first_argmax_in_mask", pointingGameFirstArgmax(a, s, n));
    put("pointing_game_any_maximum_in_mask", area ? pointingGame(a, s, n) : 0.0);
    put("pointing_game_tol15", pointingGameTolerance(a, s, shape, opt.pointingTolerance, false));
    put("pointing_game_tol15_any_maximum", pointingGameTolerance(a, s, shape, opt.pointingTolerance, true));
    put("energy_pointing_game", energyPointingGame(a, s, n));
    MapShape unit = shape;
    unit.sx = unit.sy = unit.sz = 1.0;
    put("first_argmax_min_dist_to_mask_px", peakDistance(a, s, unit));
    put("peak_distance_mm", peakDistance(a, s, shape));

    for (double t : opt.thresholdFractions) {
        const std::string k = fractionKey(t);
        const OverlapScores o = overlapAtFraction(a, s, n, t);
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
