#include "core/metrics/Localization.h"

// Local
#include "core/metrics/DistanceTransform.h"

// Std
#include <algorithm>
#include <cmath>
#include <limits>

namespace camsight::metrics {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::size_t maskArea(const std::uint8_t* s, std::size_t n)
{
    std::size_t c = 0;
    for (std::size_t i = 0; i < n; ++i)
        c += s[i] != 0;
    return c;
}

std::size_t firstArgmax(const float* a, std::size_t n)
{
    std::size_t best = 0;
    for (std::size_t i = 1; i < n; ++i)
        if (a[i] > a[best])
            best = i;
    return best;
}

std::vector<std::size_t> allMaxima(const float* a, std::size_t n)
{
    const float mx = a[firstArgmax(a, n)];
    std::vector<std::size_t> out;
    for (std::size_t i = 0; i < n; ++i)
        if (a[i] == mx)
            out.push_back(i);
    return out;
}

// Squared distance (voxel units weighted by wx, wy, wz) from voxel p to the nearest mask voxel, by a scan.
double nearestMaskSquared(const std::uint8_t* s, const MapShape& sh, std::size_t p, double wx, double wy, double wz)
{
    const double px = double(p % sh.nx), py = double((p / sh.nx) % sh.ny), pz = double(p / (sh.nx * sh.ny));
    double best = std::numeric_limits<double>::infinity();
    std::size_t i = 0;
    for (std::size_t z = 0; z < sh.nz; ++z) {
        const double dz = (double(z) - pz) * wz;
        for (std::size_t y = 0; y < sh.ny; ++y) {
            const double dy = (double(y) - py) * wy;
            const double dyz = dy * dy + dz * dz;
            for (std::size_t x = 0; x < sh.nx; ++x, ++i)
                if (s[i]) {
                    const double dx = (double(x) - px) * wx;
                    best = std::min(best, dx * dx + dyz);
                }
        }
    }
    return best;
}

// Python's round(x, 4) on a float, as an integer count of 1e-4: the decimal nearest to the exact binary value of x,
// ties to even (CPython rounds through the correctly rounded decimal string, not through x * 1e4).
double roundDecimal4(double x)
{
    const double approx = std::floor(x * 10000.0);
    if (!(x >= 1e-6 && x <= 1.0))
        return std::nearbyint(x * 10000.0);  // far from any midpoint that matters, or 0 / 1 exactly
    int exp = 0;
    const double frac = std::frexp(x, &exp);  // x = frac * 2^exp, frac in [0.5, 1)
    const auto mant = static_cast<__int128>(std::ldexp(frac, 53));  // x = mant * 2^(exp - 53), exact
    const int shift = 53 - exp;  // > 0 for x <= 1
    // Compare x with the midpoints (k + 0.5) / 1e4 around the estimate: x*20000 vs 2k+1, i.e. mant*20000 vs (2k+1) << shift.
    for (double k = approx - 1; k <= approx + 1; ++k) {
        const __int128 lhs = mant * 20000;
        const __int128 rhs = static_cast<__int128>(2 * k + 1) << shift;
        if (lhs < rhs)
            return k;                                     // below the midpoint above k
        if (lhs == rhs)
            return std::fmod(k, 2.0) == 0 ? k : k + 1;  // exactly half: to even
    }
    return approx + 2;
}

}  // namespace

std::vector<float> quantusPreprocess(const float* a, std::size_t n, bool normalise, bool absolute)
{
    std::vector<float> out(a, a + n);
    if (normalise) {
        float mx = 0;
        for (float v : out)
            mx = std::max(mx, std::fabs(v));
        if (mx != 0)
            for (float& v : out)
                v = v / mx;  // float32 division, as numpy does on a float32 array
    }
    if (absolute)
        for (float& v : out)
            v = std::fabs(v);
    return out;
}

bool isQuantusValidHeatmap(const float* a, std::size_t n)
{
    if (n == 0)
        return false;
    bool allNegative = true, allEqual = true;
    for (std::size_t i = 0; i < n; ++i) {
        allNegative = allNegative && a[i] < 0;
        allEqual = allEqual && a[i] == a[0];
    }
    return !allNegative && !allEqual;  // all zero and all one are special cases of all equal
}

double pointingGame(const float* a, const std::uint8_t* s, std::size_t n, bool weighted)
{
    const std::size_t area = maskArea(s, n);
    if (area == 0 || n == 0)
        return kNaN;
    bool hit = false;
    for (std::size_t i : allMaxima(a, n))
        hit = hit || s[i];
    if (!hit)
        return 0.0;
    return weighted ? 1.0 - double(area) / double(n) : 1.0;
}

double pointingGameFirstArgmax(const float* a, const std::uint8_t* s, std::size_t n)
{
    return n && s[firstArgmax(a, n)] ? 1.0 : 0.0;
}

double pointingGameTolerance(const float* a, const std::uint8_t* s, const MapShape& shape, double tolerance,
                             bool anyMaximum)
{
    const std::size_t n = shape.count();
    if (n == 0 || maskArea(s, n) == 0)
        return 0.0;
    const double tol2 = tolerance * tolerance;
    if (!anyMaximum)
        return nearestMaskSquared(s, shape, firstArgmax(a, n), 1, 1, 1) < tol2 ? 1.0 : 0.0;
    const auto maxima = allMaxima(a, n);
    for (std::size_t i : maxima)
        if (s[i])
            return 1.0;
    if (maxima.size() <= 16) {
        for (std::size_t i : maxima)
            if (nearestMaskSquared(s, shape, i, 1, 1, 1) < tol2)
                return 1.0;
        return 0.0;
    }
    // Many tied maxima (a plateau): one distance transform instead of a scan per maximum.
    MapShape unit = shape;
    unit.sx = unit.sy = unit.sz = 1.0;
    const auto d2 = squaredDistanceToMask(s, unit);
    for (std::size_t i : maxima)
        if (d2[i] < tol2)
            return 1.0;
    return 0.0;
}

double attributionLocalisation(const float* a, const std::uint8_t* s, std::size_t n, bool weighted)
{
    const std::size_t area = maskArea(s, n);
    if (area == 0)
        return kNaN;
    double inside = 0, total = 0;
    for (std::size_t i = 0; i < n; ++i) {
        total += a[i];
        if (s[i])
            inside += a[i];
    }
    const double r = inside / total;
    if (!(r <= 1.0))  // r > 1, and the 0/0 of an all-zero map
        return kNaN;
    return weighted ? r * double(area) / double(n) : r;
}

double relevanceMassAccuracy(const float* a, const std::uint8_t* s, std::size_t n)
{
    if (maskArea(s, n) == 0)
        return kNaN;
    double inside = 0, total = 0;
    for (std::size_t i = 0; i < n; ++i) {
        total += a[i];
        if (s[i])
            inside += a[i];
    }
    return inside / total;
}

double energyPointingGame(const float* a, const std::uint8_t* s, std::size_t n)
{
    double inside = 0, total = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const double e = std::max(a[i], 0.0f);
        total += e;
        if (s[i])
            inside += e;
    }
    return total > 0 ? inside / total : kNaN;
}

double relevanceRankAccuracy(const RankOrder& order, const std::uint8_t* s)
{
    const std::size_t n = order.size();
    std::size_t k = 0;
    for (std::size_t i = 0; i < n; ++i)
        k += s[i] != 0;
    if (k == 0)
        return kNaN;
    std::size_t hits = 0;
    for (std::size_t r = 0; r < k; ++r)
        hits += s[order.at(r)] != 0;
    return double(hits) / double(k);
}

double topKIntersection(const RankOrder& order, const std::uint8_t* s, std::size_t k)
{
    const std::size_t n = order.size();
    if (maskArea(s, n) == 0 || k == 0)
        return kNaN;
    std::size_t hits = 0;
    for (std::size_t r = 0; r < std::min(k, n); ++r)
        hits += s[order.at(r)] != 0;
    return double(hits) / double(k);
}

double auroc(const RankOrder& order, const std::uint8_t* s)
{
    const std::size_t n = order.size();
    const std::size_t pos = maskArea(s, n), neg = n - pos;
    if (pos == 0 || neg == 0)
        return kNaN;
    // Walk tie runs from the top: each positive beats every negative ranked below its run, and half of the
    // negatives tied with it.
    double u = 0;
    std::size_t negSeen = 0;
    for (std::size_t r = 0; r < n;) {
        const std::size_t e = order.runEnd(r);
        std::size_t p = 0;
        for (std::size_t i = r; i < e; ++i)
            p += s[order.at(i)] != 0;
        const std::size_t q = (e - r) - p;
        u += double(p) * (double(neg - negSeen - q) + 0.5 * double(q));
        negSeen += q;
        r = e;
    }
    return u / (double(pos) * double(neg));
}

double auprc(const RankOrder& order, const std::uint8_t* s)
{
    const std::size_t n = order.size();
    const std::size_t pos = maskArea(s, n);
    // torcheval: points per distinct threshold, in descending order; recall = tp / P (NaN -> 1 when P = 0),
    // precision = tp / (tp + fp), both float32; area = sum (r_g - r_{g-1}) p_g with r_{-1} = 0.
    double area = 0;
    float prevRecall = 0;
    std::size_t tp = 0;
    for (std::size_t r = 0; r < n;) {
        const std::size_t e = order.runEnd(r);
        for (std::size_t i = r; i < e; ++i)
            tp += s[order.at(i)] != 0;
        const float precision = float(tp) / float(e);
        const float recall = pos ? float(tp) / float(pos) : 1.0f;
        area += double(float(recall - prevRecall) * precision);
        prevRecall = recall;
        r = e;
    }
    return area;
}

double aucJudd(const float* a, const RankOrder& order, const std::uint8_t* s)
{
    const std::size_t n = order.size();
    const std::size_t pos = maskArea(s, n);
    if (pos == n)
        return kNaN;  // no negatives: every fp rate is 0/0
    // For each voxel, the counts of voxels >= its value (all, and inside the mask).
    std::vector<std::uint32_t> countAll(n), countIn(n);
    std::size_t inSoFar = 0;
    for (std::size_t r = 0; r < n;) {
        const std::size_t e = order.runEnd(r);
        for (std::size_t i = r; i < e; ++i)
            inSoFar += s[order.at(i)] != 0;
        for (std::size_t i = r; i < e; ++i) {
            countAll[order.at(i)] = static_cast<std::uint32_t>(e);
            countIn[order.at(i)] = static_cast<std::uint32_t>(inSoFar);
        }
        r = e;
    }
    auto round4 = [](double x) { return roundDecimal4(x); };
    constexpr std::size_t kBins = 10001;
    struct Point {
        double fp, tp;
    };
    std::vector<Point> points;
    points.reserve(pos + 2);
    std::vector<std::uint32_t> bin;
    bin.reserve(pos + 2);
    auto add = [&](double fpKey, double tpKey) {
        points.push_back({fpKey / 10000.0, tpKey / 10000.0});
        bin.push_back(static_cast<std::uint32_t>(std::clamp(fpKey, 0.0, double(kBins - 1))));
    };
    add(0, 0);
    for (std::size_t i = 0; i < n; ++i)
        if (s[i]) {
            const double tp = double(countIn[i]) / double(pos);
            const double fp = double(countAll[i] - countIn[i]) / double(n - pos);
            add(round4(fp), round4(tp));
        }
    add(10000, 10000);
    // Stable counting sort by the rounded fp rate (a multiple of 1e-4 in [0, 1]).
    std::vector<std::size_t> start(kBins + 1, 0);
    for (auto b : bin)
        ++start[b + 1];
    for (std::size_t b = 0; b < kBins; ++b)
        start[b + 1] += start[b];
    std::vector<Point> sorted(points.size());
    for (std::size_t i = 0; i < points.size(); ++i)
        sorted[start[bin[i]]++] = points[i];
    double area = 0;
    for (std::size_t i = 1; i < sorted.size(); ++i)
        area += (sorted[i].fp - sorted[i - 1].fp) * (sorted[i].tp + sorted[i - 1].tp) / 2.0;
    return area;
}

double peakDistance(const float* a, const std::uint8_t* s, const MapShape& shape)
{
    const std::size_t n = shape.count();
    if (n == 0 || maskArea(s, n) == 0)
        return kNaN;
    return std::sqrt(nearestMaskSquared(s, shape, firstArgmax(a, n), shape.sx, shape.sy, shape.sz));
}

}  // namespace camsight::metrics
