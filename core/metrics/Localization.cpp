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
__extension__ typedef __int128 Int128;  // GCC/Clang: exact products for the decimal rounding below

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

// Squared distance (voxel units weighted by wx, wy, wz) from voxel p to the nearest mask voxel (infinity for none).
// Rows are visited outward from p and within a row voxels outward from p's column, so that the search stops as soon
// as nothing closer can remain: a peak inside or near the lesion costs a few rows, not a scan of the map.
double nearestMaskSquared(const std::uint8_t* s, const MapShape& sh, std::size_t p, double wx, double wy, double wz)
{
    const std::size_t px = p % sh.nx, py = (p / sh.nx) % sh.ny, pz = p / (sh.nx * sh.ny);
    double best = std::numeric_limits<double>::infinity();
    auto sq = [](double d) { return d * d; };
    auto scanRow = [&](const std::uint8_t* row, double dyz) {
        for (std::size_t x = px; x < sh.nx; ++x) {  // rightwards
            const double d = sq(double(x - px) * wx) + dyz;
            if (d >= best)
                break;
            if (row[x]) {
                best = d;
                break;
            }
        }
        for (std::size_t x = px; x-- > 0;) {  // leftwards
            const double d = sq(double(px - x) * wx) + dyz;
            if (d >= best)
                break;
            if (row[x]) {
                best = d;
                break;
            }
        }
    };
    auto scanPlane = [&](std::size_t z, double dz2) {
        const std::uint8_t* plane = s + z * sh.nx * sh.ny;
        for (std::size_t k = 0;; ++k) {  // y = py, py+1, py-1, py+2, ...
            const std::size_t off = (k + 1) / 2;
            if (sq(double(off) * wy) + dz2 >= best)
                break;
            if (k % 2 == 1 ? py + off < sh.ny : off <= py) {
                const std::size_t y = k % 2 == 1 ? py + off : py - off;
                scanRow(plane + y * sh.nx, sq(double(off) * wy) + dz2);
            }
            if (off > py && py + off >= sh.ny)
                break;
        }
    };
    for (std::size_t k = 0;; ++k) {  // z = pz, pz+1, pz-1, ...
        const std::size_t off = (k + 1) / 2;
        if ((off > pz && pz + off >= sh.nz) || sq(double(off) * wz) >= best)
            break;
        if (k % 2 == 1 ? pz + off < sh.nz : off <= pz)
            scanPlane(k % 2 == 1 ? pz + off : pz - off, sq(double(off) * wz));
    }
    return best;
}

// Python's round(x, 4) on a float, as an integer count of 1e-4: the decimal nearest to the exact binary value of x,
// ties to even (CPython rounds through the correctly rounded decimal string, not through x * 1e4).
double roundDecimal4(double x)
{
    const double y = x * 10000.0;  // within 1e-12 of the exact product for |x| <= 1
    const double approx = std::floor(y);
    if (!(x >= 1e-6 && x <= 1.0))
        return std::nearbyint(y);  // far from any midpoint that matters, or 0 / 1 exactly
    if (std::fabs(y - approx - 0.5) > 1e-9)
        return std::nearbyint(y);  // not near a midpoint: the rounded product is the exact answer
    int exp = 0;
    const double frac = std::frexp(x, &exp);  // x = frac * 2^exp, frac in [0.5, 1)
    const auto mant = static_cast<Int128>(std::ldexp(frac, 53));  // x = mant * 2^(exp - 53), exact
    const int shift = 53 - exp;  // > 0 for x <= 1
    // Compare x with the midpoints (k + 0.5) / 1e4 around the estimate: x*20000 vs 2k+1, i.e. mant*20000 vs (2k+1) << shift.
    for (double k = std::max(approx - 1, 0.0); k <= approx + 1; ++k) {  // x > 0: no midpoint below 0 matters
        const Int128 lhs = mant * 20000;
        const Int128 rhs = static_cast<Int128>(2 * k + 1) << shift;
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

MapSummary summarize(const float* a, const std::uint8_t* s, std::size_t n)
{
    MapSummary m;
    m.n = n;
    if (n == 0)
        return m;
    m.max = m.min = a[0];
    for (std::size_t i = 0; i < n; ++i) {
        const float v = a[i];
        const bool in = s[i] != 0;
        if (v > m.max) {
            m.max = v;
            m.firstArgmax = i;
        }
        m.min = std::min(m.min, v);
        m.maskArea += in;
        m.sum += v;
        m.sumInMask += in ? v : 0.0;
        const double e = v > 0 ? v : 0.0;
        m.energy += e;
        m.energyInMask += in ? e : 0.0;
    }
    for (std::size_t i = 0; i < n; ++i)
        if (a[i] == m.max) {
            ++m.nMaxima;
            m.maximaInMask += s[i] != 0;
        }
    m.allNegative = m.max < 0;
    m.allEqual = m.max == m.min;
    return m;
}

bool isQuantusValidHeatmap(const float* a, std::size_t n)
{
    if (n == 0)
        return false;
    float mx = a[0], mn = a[0];
    for (std::size_t i = 0; i < n; ++i) {
        mx = std::max(mx, a[i]);
        mn = std::min(mn, a[i]);
    }
    return !(mx < 0) && mx != mn;  // all zero and all one are special cases of all equal
}

ValueScores valueScores(const MapSummary& m)
{
    ValueScores v{kNaN, kNaN, kNaN, kNaN};
    if (m.maskArea > 0) {
        v.pointingGame = m.maximaInMask ? 1.0 : 0.0;
        v.relevanceMass = m.sumInMask / m.sum;
        v.attributionLocalisation = v.relevanceMass <= 1.0 ? v.relevanceMass : kNaN;  // r > 1 and 0/0: NaN
    }
    if (m.energy > 0)
        v.energy = m.energyInMask / m.energy;
    return v;
}

double pointingGame(const float* a, const std::uint8_t* s, std::size_t n, bool weighted)
{
    const double hit = valueScores(summarize(a, s, n)).pointingGame;
    return weighted && hit == 1.0 ? 1.0 - double(maskArea(s, n)) / double(n) : hit;
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
    const MapSummary m = summarize(a, s, n);
    const double r = valueScores(m).attributionLocalisation;
    return weighted ? r * double(m.maskArea) / double(n) : r;
}

double relevanceMassAccuracy(const float* a, const std::uint8_t* s, std::size_t n)
{
    return valueScores(summarize(a, s, n)).relevanceMass;
}

double energyPointingGame(const float* a, const std::uint8_t* s, std::size_t n)
{
    return valueScores(summarize(a, s, n)).energy;
}

RankScores rankScores(const RankOrder& order, const std::uint8_t* s, std::size_t topK,
                      const std::vector<std::size_t>& cuts)
{
    const std::size_t n = order.size();
    // The mask in rank order, so that every sweep below reads sequentially.
    thread_local std::vector<std::uint8_t> ranked;
    ranked.resize(n);
    const std::uint32_t* ord = order.order().data();
    std::size_t pos = 0;
    for (std::size_t r = 0; r < n; ++r) {
        const std::uint8_t in = s[ord[r]] != 0;
        ranked[r] = in;
        pos += in;
    }
    const std::size_t neg = n - pos;
    RankScores out{kNaN, 0.0, kNaN, kNaN, kNaN, {}};
    for (std::size_t cut : cuts) {
        std::size_t hits = 0;
        for (std::size_t r = 0; r < std::min(cut, n); ++r)
            hits += ranked[r];
        out.hitsAtCuts.push_back(hits);
    }

    if (pos > 0) {
        std::size_t hits = 0;
        for (std::size_t r = 0; r < pos; ++r)
            hits += ranked[r];
        out.rankAccuracy = double(hits) / double(pos);
        if (topK > 0) {
            hits = 0;
            for (std::size_t r = 0; r < std::min(topK, n); ++r)
                hits += ranked[r];
            out.topK = double(hits) / double(topK);
        }
    }

    // One walk over the tie runs, from the top, for AUROC, AUPRC and AUC-Judd.
    //  AUROC (Mann-Whitney): each positive beats the negatives ranked below its run and half of those tied with it.
    //  AUPRC (torcheval): a point per run; precision and recall in float32; area = sum (r_g - r_{g-1}) p_g.
    //  AUC-Judd (seed notebook): a point per mask voxel, (fp, tp) rates at its value with >=, rounded to 4 decimals,
    //   stable-sorted by fp. Points of one fp bin add no area among themselves, so only the first and the last of
    //   each bin in row-major order (= the lowest and highest voxel index) matter.
    constexpr std::size_t kBins = 10001;
    // Per fp bin: the lowest and highest voxel index seen and the tp count there (rounded once, at the end).
    std::vector<std::uint32_t> firstIdx, lastIdx;
    std::vector<std::size_t> firstTp, lastTp;
    const bool judd = pos < n;
    if (judd) {
        firstIdx.assign(kBins, std::numeric_limits<std::uint32_t>::max());
        lastIdx.assign(kBins, 0);
        firstTp.assign(kBins, 0);
        lastTp.assign(kBins, 0);
    }
    double u = 0;
    std::size_t tp = 0, negSeen = 0;
    std::size_t lastFp = std::numeric_limits<std::size_t>::max(), fpBin = 0;
    float prevRecall = 0;
    for (std::size_t r = 0; r < n;) {
        const std::size_t e = order.runEnd(r);
        std::size_t p = 0;
        for (std::size_t i = r; i < e; ++i)
            p += ranked[i];
        const std::size_t q = (e - r) - p;
        if (p == 0 && r > 0) {  // a run of negatives only moves the fp count
            negSeen += q;
            r = e;
            continue;
        }
        u += double(p) * (double(neg - negSeen - q) + 0.5 * double(q));
        negSeen += q;
        tp += p;
        // Recall only moves on runs holding positives (and on the first run when the mask is empty).
        if (p > 0 || r == 0) {
            const float precision = float(tp) / float(e);
            const float recall = pos ? float(tp) / float(pos) : 1.0f;  // torcheval: NaN recall -> 1
            out.auprc += double(float(recall - prevRecall) * precision);
            prevRecall = recall;
        }
        if (judd && p > 0) {
            const std::size_t fp = e - tp;
            if (fp != lastFp) {  // the fp rate only moves on runs holding negatives
                lastFp = fp;
                fpBin = static_cast<std::size_t>(std::clamp(roundDecimal4(double(fp) / double(neg)), 0.0, double(kBins - 1)));
            }
            const std::size_t b = fpBin;
            for (std::size_t i = r; i < e; ++i) {
                if (!ranked[i])
                    continue;
                const std::uint32_t idx = ord[i];
                if (idx < firstIdx[b]) {
                    firstIdx[b] = idx;
                    firstTp[b] = tp;
                }
                if (idx >= lastIdx[b]) {
                    lastIdx[b] = idx;
                    lastTp[b] = tp;
                }
            }
        }
        r = e;
    }
    if (pos > 0 && neg > 0)
        out.auroc = u / (double(pos) * double(neg));
    if (judd) {
        // Points in order: (0, 0), then each non-empty bin's first ... last, then (1, 1).
        double area = 0, prevFp = 0, prevTp = 0;
        auto step = [&](double fp, double tpFirst, double tpLast) {
            area += (fp - prevFp) * (tpFirst + prevTp) / 2.0;
            prevFp = fp;
            prevTp = tpLast;
        };
        for (std::size_t b = 0; b < kBins; ++b)
            if (firstIdx[b] != std::numeric_limits<std::uint32_t>::max())
                step(double(b) / 10000.0, roundDecimal4(double(firstTp[b]) / double(pos)) / 10000.0,
                     roundDecimal4(double(lastTp[b]) / double(pos)) / 10000.0);
        step(1.0, 1.0, 1.0);
        out.aucJudd = area;
    }
    return out;
}

double relevanceRankAccuracy(const RankOrder& order, const std::uint8_t* s) { return rankScores(order, s).rankAccuracy; }

double topKIntersection(const RankOrder& order, const std::uint8_t* s, std::size_t k)
{
    return rankScores(order, s, k).topK;
}

double auroc(const RankOrder& order, const std::uint8_t* s) { return rankScores(order, s).auroc; }

double auprc(const RankOrder& order, const std::uint8_t* s) { return rankScores(order, s).auprc; }

double aucJudd(const float*, const RankOrder& order, const std::uint8_t* s) { return rankScores(order, s).aucJudd; }

double peakDistance(const float* a, const std::uint8_t* s, const MapShape& shape)
{
    const std::size_t n = shape.count();
    if (n == 0)
        return kNaN;
    return distanceToMask(s, shape, firstArgmax(a, n));
}

double distanceToMask(const std::uint8_t* s, const MapShape& shape, std::size_t voxel)
{
    const double d2 = nearestMaskSquared(s, shape, voxel, shape.sx, shape.sy, shape.sz);
    return std::isinf(d2) ? kNaN : std::sqrt(d2);
}

}  // namespace camsight::metrics
