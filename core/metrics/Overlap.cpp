#include "core/metrics/Overlap.h"

// Std
#include <algorithm>
#include <cmath>
#include <limits>

namespace camsight::metrics {
namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double ratio(double num, double den) { return den > 0 ? num / den : kNaN; }
}  // namespace

OverlapScores overlapAtThreshold(const float* a, const std::uint8_t* s, std::size_t n, double threshold, bool inclusive)
{
    // Integer counters in locals so the loop vectorises; the comparison is made in double, as the reference does.
    std::size_t area = 0, maskArea = 0, inter = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const double v = a[i];
        const std::size_t in = inclusive ? (v >= threshold) : (v > threshold);
        const std::size_t m = s[i] != 0;
        area += in;
        maskArea += m;
        inter += in & m;
    }
    return overlapFromCounts(threshold, area, inter, maskArea);
}

OverlapScores overlapFromCounts(double threshold, std::size_t area, std::size_t inter, std::size_t maskArea)
{
    OverlapScores o;
    o.threshold = threshold;
    o.area = area;
    o.intersection = inter;
    o.dice = ratio(2.0 * double(inter), double(area + maskArea));
    o.iou = ratio(double(inter), double(area + maskArea - inter));
    o.ioa = ratio(double(inter), double(area));
    return o;
}

std::size_t regionArea(const float* a, const RankOrder& order, double threshold, bool inclusive)
{
    // The comparison in double, as overlapAtThreshold makes it; it holds on a prefix of the descending order.
    if (inclusive)
        return order.prefixWhere(a, [threshold](float v) { return double(v) >= threshold; });
    return order.prefixWhere(a, [threshold](float v) { return double(v) > threshold; });
}

OverlapScores overlapAtFraction(const float* a, const std::uint8_t* s, std::size_t n, double fraction)
{
    if (n == 0)
        return overlapAtThreshold(a, s, 0, 0);
    const float mx = *std::max_element(a, a + n);
    return overlapAtThreshold(a, s, n, fraction * double(mx), true);
}

namespace {
constexpr int kOtsuBins = 256;

// numpy.histogram semantics: bins [mn + i w, mn + (i+1) w), the last one closed. Monotone in v.
struct OtsuBinning {
    double mn, inv;
    int operator()(float v) const { return std::min(static_cast<int>((double(v) - mn) * inv), kOtsuBins - 1); }
};

double otsuFromHistogram(const std::size_t* counts, double mn, double mx)
{
    const double w = (mx - mn) / kOtsuBins;
    std::vector<double> hist(kOtsuBins), centre(kOtsuBins);
    for (int b = 0; b < kOtsuBins; ++b) {
        hist[b] = double(counts[b]);
        centre[b] = mn + w * (b + 0.5);
    }
    // Between-class variance for a split after bin i: w1 w2 (m1 - m2)^2.
    std::vector<double> w1(kOtsuBins), m1(kOtsuBins), w2(kOtsuBins), m2(kOtsuBins);
    double cw = 0, cs = 0;
    for (int i = 0; i < kOtsuBins; ++i) {
        cw += hist[i];
        cs += hist[i] * centre[i];
        w1[i] = cw;
        m1[i] = cs / cw;
    }
    cw = cs = 0;
    for (int i = kOtsuBins - 1; i >= 0; --i) {
        cw += hist[i];
        cs += hist[i] * centre[i];
        w2[i] = cw;
        m2[i] = cs / cw;
    }
    int best = 0;
    double bestVar = -1;
    for (int i = 0; i < kOtsuBins - 1; ++i) {
        if (w1[i] == 0 || w2[i + 1] == 0)
            continue;
        const double d = m1[i] - m2[i + 1];
        const double v = w1[i] * w2[i + 1] * d * d;
        if (v > bestVar) {
            bestVar = v;
            best = i;
        }
    }
    return centre[best];
}
}  // namespace

double otsuThreshold(const float* a, std::size_t n)
{
    if (n == 0)
        return kNaN;
    const auto [mnIt, mxIt] = std::minmax_element(a, a + n);
    const double mn = *mnIt, mx = *mxIt;
    if (mn == mx)
        return mn;
    const OtsuBinning bin{mn, kOtsuBins / (mx - mn)};
    std::size_t counts[kOtsuBins] = {};
    for (std::size_t i = 0; i < n; ++i)
        ++counts[bin(a[i])];
    return otsuFromHistogram(counts, mn, mx);
}

double otsuThreshold(const float* a, const RankOrder& order)
{
    const std::size_t n = order.size();
    if (n == 0)
        return kNaN;
    const double mx = a[order.at(0)], mn = a[order.at(n - 1)];
    if (mn == mx)
        return mn;
    // The bin index falls along the descending order: count the ranks at or above each bin edge.
    const OtsuBinning bin{mn, kOtsuBins / (mx - mn)};
    std::size_t atLeast[kOtsuBins + 1];
    atLeast[0] = n;
    atLeast[kOtsuBins] = 0;
    for (int b = 1; b < kOtsuBins; ++b)
        atLeast[b] = order.prefixWhere(a, [&](float v) { return bin(v) >= b; });
    std::size_t counts[kOtsuBins];
    for (int b = 0; b < kOtsuBins; ++b)
        counts[b] = atLeast[b] - atLeast[b + 1];
    return otsuFromHistogram(counts, mn, mx);
}

double meanFinite(const std::vector<double>& values, std::size_t* used)
{
    double sum = 0;
    std::size_t k = 0;
    for (double v : values)
        if (std::isfinite(v)) {
            sum += v;
            ++k;
        }
    if (used)
        *used = k;
    return k ? sum / double(k) : kNaN;
}

}  // namespace camsight::metrics
