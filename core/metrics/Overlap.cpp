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
    OverlapScores o;
    o.threshold = threshold;
    o.area = area;
    o.intersection = inter;
    o.dice = ratio(2.0 * double(inter), double(area + maskArea));
    o.iou = ratio(double(inter), double(area + maskArea - inter));
    o.ioa = ratio(double(inter), double(area));
    return o;
}

OverlapScores overlapAtFraction(const float* a, const std::uint8_t* s, std::size_t n, double fraction)
{
    if (n == 0)
        return overlapAtThreshold(a, s, 0, 0);
    const float mx = *std::max_element(a, a + n);
    return overlapAtThreshold(a, s, n, fraction * double(mx), true);
}

double otsuThreshold(const float* a, std::size_t n)
{
    if (n == 0)
        return kNaN;
    const auto [mnIt, mxIt] = std::minmax_element(a, a + n);
    const double mn = *mnIt, mx = *mxIt;
    if (mn == mx)
        return mn;
    // numpy.histogram semantics: bins [mn + i w, mn + (i+1) w), the last one closed.
    constexpr int kBins = 256;
    std::vector<double> hist(kBins, 0.0);
    const double w = (mx - mn) / kBins;
    const double inv = kBins / (mx - mn);
    std::vector<std::size_t> counts(kBins, 0);
    for (std::size_t i = 0; i < n; ++i) {
        const int b = static_cast<int>((double(a[i]) - mn) * inv);
        ++counts[std::min(b, kBins - 1)];
    }
    for (int b = 0; b < kBins; ++b)
        hist[b] = double(counts[b]);
    std::vector<double> centre(kBins);
    for (int i = 0; i < kBins; ++i)
        centre[i] = mn + w * (i + 0.5);
    // Between-class variance for a split after bin i: w1 w2 (m1 - m2)^2.
    std::vector<double> w1(kBins), m1(kBins), w2(kBins), m2(kBins);
    double cw = 0, cs = 0;
    for (int i = 0; i < kBins; ++i) {
        cw += hist[i];
        cs += hist[i] * centre[i];
        w1[i] = cw;
        m1[i] = cs / cw;
    }
    cw = cs = 0;
    for (int i = kBins - 1; i >= 0; --i) {
        cw += hist[i];
        cs += hist[i] * centre[i];
        w2[i] = cw;
        m2[i] = cs / cw;
    }
    int best = 0;
    double bestVar = -1;
    for (int i = 0; i < kBins - 1; ++i) {
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
