// Every metric against a direct, slow restatement of its definition, on 2D and 3D inputs with ties and
// anisotropic spacing (the golden files cover 2D only).

// Local
#include "core/metrics/DistanceTransform.h"
#include "core/metrics/Localization.h"
#include "core/metrics/Overlap.h"
#include "core/metrics/Report.h"

// Std
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numeric>
#include <random>

using namespace camsight::metrics;

namespace {

struct Pair {
    MapShape shape;
    std::vector<float> a;
    std::vector<std::uint8_t> s;
};

// Smooth-ish random map quantised to create ties, with a blob-shaped mask.
Pair randomPair(std::size_t nx, std::size_t ny, std::size_t nz, unsigned seed, int levels = 0)
{
    std::mt19937 rng(seed);
    std::normal_distribution<float> noise(0.f, 1.f);
    Pair p;
    p.shape = {nx, ny, nz, 0.7, 1.3, 2.5};
    const std::size_t n = p.shape.count();
    p.a.resize(n);
    p.s.resize(n);
    const double cx = nx * 0.6, cy = ny * 0.4, cz = nz * 0.5, r = std::max<double>(2.0, nx * 0.25);
    for (std::size_t z = 0, i = 0; z < nz; ++z)
        for (std::size_t y = 0; y < ny; ++y)
            for (std::size_t x = 0; x < nx; ++x, ++i) {
                const double d = std::hypot(std::hypot(x - cx, y - cy), (z - cz) * 2);
                float v = float(std::exp(-d * d / (2 * r * r))) + 0.3f * noise(rng);
                if (levels)
                    v = std::round(v * levels) / levels;
                p.a[i] = v;
                p.s[i] = std::hypot(std::hypot(x - nx * 0.5, y - ny * 0.5), (z - cz) * 1.5) < r;
            }
    return p;
}

double bruteAuroc(const Pair& p)
{
    double u = 0, pos = 0, neg = 0;
    for (std::size_t i = 0; i < p.a.size(); ++i) {
        if (!p.s[i])
            continue;
        ++pos;
        for (std::size_t j = 0; j < p.a.size(); ++j)
            if (!p.s[j])
                u += p.a[i] > p.a[j] ? 1.0 : p.a[i] == p.a[j] ? 0.5 : 0.0;
    }
    for (auto v : p.s)
        neg += !v;
    neg = double(p.a.size()) - pos;
    return u / (pos * neg);
}

std::vector<std::size_t> stableDescending(const std::vector<float>& a)
{
    std::vector<std::size_t> idx(a.size());
    std::iota(idx.begin(), idx.end(), 0);
    std::stable_sort(idx.begin(), idx.end(), [&](auto i, auto j) { return a[i] > a[j]; });
    return idx;
}

double bruteAuprc(const Pair& p)
{
    // Precision/recall at every distinct threshold t (predict a >= t), step sum over increasing recall.
    std::vector<float> thr(p.a);
    std::sort(thr.begin(), thr.end(), std::greater<float>());
    thr.erase(std::unique(thr.begin(), thr.end()), thr.end());
    double pos = 0;
    for (auto v : p.s)
        pos += v;
    double area = 0, prevRecall = 0;
    for (float t : thr) {
        double tp = 0, pred = 0;
        for (std::size_t i = 0; i < p.a.size(); ++i)
            if (p.a[i] >= t) {
                ++pred;
                tp += p.s[i];
            }
        const float recall = float(tp) / float(pos), precision = float(tp) / float(pred);
        area += double(float(recall - float(prevRecall)) * precision);
        prevRecall = recall;
    }
    return area;
}

double bruteNearest(const Pair& p, std::size_t from, double wx, double wy, double wz)
{
    const auto& sh = p.shape;
    double best = std::numeric_limits<double>::infinity();
    const double fx = from % sh.nx, fy = (from / sh.nx) % sh.ny, fz = from / (sh.nx * sh.ny);
    for (std::size_t i = 0; i < p.s.size(); ++i)
        if (p.s[i]) {
            const double dx = (double(i % sh.nx) - fx) * wx, dy = (double((i / sh.nx) % sh.ny) - fy) * wy,
                         dz = (double(i / (sh.nx * sh.ny)) - fz) * wz;
            best = std::min(best, dx * dx + dy * dy + dz * dz);
        }
    return best;
}

class MetricsReference : public ::testing::TestWithParam<std::tuple<int, int, int, int>> {};

TEST_P(MetricsReference, MatchesDefinitions)
{
    const auto [nx, ny, nz, levels] = GetParam();
    const Pair p = randomPair(nx, ny, nz, 7 + nx + nz, levels);
    const std::size_t n = p.a.size();
    const RankOrder order(p.a.data(), n);

    // The order is a stable descending sort.
    const auto ref = stableDescending(p.a);
    for (std::size_t r = 0; r < n; ++r)
        ASSERT_EQ(order.at(r), ref[r]) << "rank " << r;

    EXPECT_NEAR(auroc(order, p.s.data()), bruteAuroc(p), 1e-12);
    EXPECT_NEAR(auprc(order, p.s.data()), bruteAuprc(p), 1e-12);

    std::size_t k = 0, hits = 0;
    for (auto v : p.s)
        k += v;
    for (std::size_t r = 0; r < k; ++r)
        hits += p.s[ref[r]];
    EXPECT_DOUBLE_EQ(relevanceRankAccuracy(order, p.s.data()), double(hits) / double(k));

    // Distances: brute force against the distance transform and the peak distance.
    const auto d2 = squaredDistanceToMask(p.s.data(), p.shape);
    for (std::size_t i = 0; i < n; i += 7)
        ASSERT_NEAR(d2[i], bruteNearest(p, i, p.shape.sx, p.shape.sy, p.shape.sz), 1e-9) << "voxel " << i;
    const std::size_t peak = std::max_element(p.a.begin(), p.a.end()) - p.a.begin();
    EXPECT_NEAR(peakDistance(p.a.data(), p.s.data(), p.shape), std::sqrt(bruteNearest(p, peak, p.shape.sx, p.shape.sy, p.shape.sz)), 1e-12);
    EXPECT_EQ(pointingGameTolerance(p.a.data(), p.s.data(), p.shape, 3.0), bruteNearest(p, peak, 1, 1, 1) < 9.0 ? 1.0 : 0.0);
    // The outward search from any voxel (inside, beside and far from the mask; corners and edges included).
    for (std::size_t i = 0; i < n; i += 5) {
        ASSERT_NEAR(distanceToMask(p.s.data(), p.shape, i), std::sqrt(bruteNearest(p, i, p.shape.sx, p.shape.sy, p.shape.sz)), 1e-12) << "voxel " << i;
        const MapShape unit{p.shape.nx, p.shape.ny, p.shape.nz, 1, 1, 1};
        ASSERT_NEAR(distanceToMask(p.s.data(), unit, i), std::sqrt(bruteNearest(p, i, 1, 1, 1)), 1e-12) << "voxel " << i;
    }
    // Sparse masks of scattered voxels, on the borders too.
    for (unsigned seed = 1; seed <= 4; ++seed) {
        Pair q = p;
        std::mt19937 rng(seed);
        std::fill(q.s.begin(), q.s.end(), 0);
        for (unsigned j = 0; j < seed; ++j)
            q.s[rng() % n] = 1;
        q.s[seed == 1 ? 0 : seed == 2 ? n - 1 : seed == 3 ? std::size_t(nx) - 1 : n - std::size_t(nx)] = 1;
        for (std::size_t i = 0; i < n; i += 3)
            ASSERT_NEAR(distanceToMask(q.s.data(), q.shape, i), std::sqrt(bruteNearest(q, i, q.shape.sx, q.shape.sy, q.shape.sz)), 1e-12)
                << "voxel " << i << " seed " << seed;
    }
    ASSERT_NEAR(distanceToMask(p.s.data(), p.shape, n - 1), std::sqrt(bruteNearest(p, n - 1, p.shape.sx, p.shape.sy, p.shape.sz)), 1e-12);

    // Overlap at half the maximum.
    const float mx = p.a[peak];
    std::size_t area = 0, inter = 0;
    for (std::size_t i = 0; i < n; ++i)
        if (p.a[i] >= 0.5 * double(mx)) {
            ++area;
            inter += p.s[i];
        }
    const OverlapScores o = overlapAtFraction(p.a.data(), p.s.data(), n, 0.5);
    EXPECT_EQ(o.area, area);
    EXPECT_DOUBLE_EQ(o.dice, 2.0 * inter / double(area + k));
    EXPECT_DOUBLE_EQ(o.iou, double(inter) / double(area + k - inter));
    EXPECT_DOUBLE_EQ(o.ioa, double(inter) / double(area));
}

INSTANTIATE_TEST_SUITE_P(Shapes, MetricsReference,
                         ::testing::Values(std::make_tuple(40, 30, 1, 0), std::make_tuple(40, 30, 1, 8),
                                           std::make_tuple(17, 23, 9, 0), std::make_tuple(17, 23, 9, 5),
                                           std::make_tuple(64, 1, 1, 3)));

TEST(MetricsReport, OverlapAndOtsuFromTheOrderEqualFullScans)
{
    // evaluate() counts thresholded regions by binary search in the order; the scans are the plain definitions.
    for (int levels : {0, 4, 16}) {
        Pair p = randomPair(37, 29, 3, 11 + levels, levels);
        p.a[5] = -0.0f;  // a signed zero among the ties
        const std::size_t n = p.a.size();
        const Report r = evaluate(p.a.data(), p.s.data(), p.shape);
        const float mx = *std::max_element(p.a.begin(), p.a.end());
        for (double f : {0.2, 0.5, 0.8}) {
            const OverlapScores o = overlapAtThreshold(p.a.data(), p.s.data(), n, f * double(mx), true);
            char k[16];
            std::snprintf(k, sizeof k, "thr0p%d", int(std::lround(f * 10)));
            EXPECT_EQ(r.get(std::string(k) + "_area"), double(o.area)) << k << " levels " << levels;
            EXPECT_EQ(r.get(std::string("dice_") + k), o.dice) << k;
            EXPECT_EQ(r.get(std::string("iou_") + k), o.iou) << k;
            EXPECT_EQ(r.get(std::string("ioa_") + k), o.ioa) << k;
        }
        const double t = otsuThreshold(p.a.data(), n);
        EXPECT_EQ(otsuThreshold(p.a.data(), RankOrder(p.a.data(), n)), t) << "levels " << levels;
        const OverlapScores o = overlapAtThreshold(p.a.data(), p.s.data(), n, t, false);
        EXPECT_EQ(r.get("otsu_value"), t);
        EXPECT_EQ(r.get("otsu_area"), double(o.area));
        EXPECT_EQ(r.get("dice_otsu"), o.dice);
        EXPECT_EQ(r.get("ioa_otsu"), o.ioa);
    }
}

TEST(RankOrderTest, StableWhenDigitPassesAreSkipped)
{
    // Keys that differ only in their low digit (one radix pass), all equal (none), and with a sign change (all three).
    std::vector<float> low(3000), same(1000, 0.25f), mixed(3000);
    std::mt19937 rng(3);
    float v = 1.0f;
    std::vector<float> steps;
    for (int i = 0; i < 1500; ++i, v = std::nextafter(v, 2.0f))
        steps.push_back(v);
    for (auto& x : low)
        x = steps[rng() % steps.size()];
    for (auto& x : mixed)
        x = float(int(rng() % 200) - 100) / 7.0f;
    for (const auto* a : {&low, &same, &mixed}) {
        const RankOrder order(a->data(), a->size());
        const auto ref = stableDescending(*a);
        for (std::size_t r = 0; r < a->size(); ++r)
            ASSERT_EQ(order.at(r), ref[r]) << "rank " << r;
    }
    RankOrder reused(low.data(), low.size());
    reused.assign(same.data(), 10);
    ASSERT_EQ(reused.size(), 10u);
    for (std::size_t r = 0; r < 10; ++r)
        EXPECT_EQ(reused.at(r), r);
}

TEST(MetricsReport, CachedOrderGivesTheSameReport)
{
    const Pair p = randomPair(33, 21, 2, 5, 6);
    const RankOrder order(p.a.data(), p.a.size());
    const Report fresh = evaluate(p.a.data(), p.s.data(), p.shape);
    const Report cached = evaluate(p.a.data(), p.s.data(), p.shape, {}, &order);
    ASSERT_EQ(fresh.values.size(), cached.values.size());
    for (std::size_t i = 0; i < fresh.values.size(); ++i) {
        EXPECT_EQ(fresh.values[i].first, cached.values[i].first);
        if (!std::isnan(fresh.values[i].second)) {
            EXPECT_EQ(fresh.values[i].second, cached.values[i].second) << fresh.values[i].first;
        }
    }
    const RankOrder other(p.a.data(), 10);
    EXPECT_THROW(evaluate(p.a.data(), p.s.data(), p.shape, {}, &other), std::invalid_argument);
}

TEST(MetricsEdgeCases, EmptyAndFullMasks)
{
    const std::vector<float> a{0.1f, 0.9f, 0.4f, 0.2f};
    const std::vector<std::uint8_t> none(4, 0), all(4, 1);
    const RankOrder order(a.data(), 4);
    EXPECT_TRUE(std::isnan(pointingGame(a.data(), none.data(), 4)));
    EXPECT_TRUE(std::isnan(relevanceMassAccuracy(a.data(), none.data(), 4)));
    EXPECT_TRUE(std::isnan(auroc(order, none.data())));
    EXPECT_TRUE(std::isnan(auroc(order, all.data())));
    EXPECT_TRUE(std::isnan(aucJudd(a.data(), order, all.data())));
    EXPECT_DOUBLE_EQ(aucJudd(a.data(), order, none.data()), 0.5);
    EXPECT_DOUBLE_EQ(auprc(order, all.data()), 1.0);
    EXPECT_EQ(pointingGameTolerance(a.data(), none.data(), {4, 1, 1}), 0.0);
    EXPECT_TRUE(std::isnan(peakDistance(a.data(), none.data(), {4, 1, 1})));
    const OverlapScores o = overlapAtFraction(a.data(), none.data(), 4, 0.5);
    EXPECT_EQ(o.area, 1u);
    EXPECT_EQ(o.dice, 0.0);
}

TEST(MetricsEdgeCases, NegativeMaximumSelectsNothing)
{
    const std::vector<float> a{-0.5f, -0.1f, -0.3f};
    const std::vector<std::uint8_t> s{0, 1, 0};
    const OverlapScores o = overlapAtFraction(a.data(), s.data(), 3, 0.5);  // 0.5 * -0.1 = -0.05 > max
    EXPECT_EQ(o.area, 0u);
    EXPECT_EQ(o.dice, 0.0);
    EXPECT_TRUE(std::isnan(o.ioa));
    EXPECT_TRUE(std::isnan(energyPointingGame(a.data(), s.data(), 3)));
    EXPECT_FALSE(isQuantusValidHeatmap(a.data(), 3));
}

TEST(MetricsEdgeCases, NegativeZeroTiesWithZero)
{
    const std::vector<float> a{0.0f, -0.0f, 1.0f};
    const RankOrder order(a.data(), 3);
    EXPECT_EQ(order.at(0), 2u);
    EXPECT_EQ(order.runEnd(1), 3u);  // 0 and -0 form one run
}

TEST(MetricsEdgeCases, NaNHeatmapIsRefused)
{
    const std::vector<float> a{0.1f, std::numeric_limits<float>::quiet_NaN()};
    const std::vector<std::uint8_t> s{1, 0};
    EXPECT_THROW(evaluate(a.data(), s.data(), {2, 1, 1}), std::invalid_argument);
}

TEST(Otsu, SplitsTwoLevelsInTheGap)
{
    // 1000 voxels near 0.1 and 300 near 0.8: the threshold falls between them and the region is the bright part.
    std::mt19937 rng(3);
    std::uniform_real_distribution<float> jitter(-0.02f, 0.02f);
    std::vector<float> a;
    std::vector<std::uint8_t> s;
    for (int i = 0; i < 1000; ++i) {
        a.push_back(0.1f + jitter(rng));
        s.push_back(0);
    }
    for (int i = 0; i < 300; ++i) {
        a.push_back(0.8f + jitter(rng));
        s.push_back(1);
    }
    const double t = otsuThreshold(a.data(), a.size());
    // scikit-image returns the centre of the last bin of the lower class: within one bin of the low cluster's top.
    const float lowMax = *std::max_element(a.begin(), a.begin() + 1000);
    const float hiMin = *std::min_element(a.begin() + 1000, a.end());
    const double bin = (*std::max_element(a.begin(), a.end()) - *std::min_element(a.begin(), a.end())) / 256.0;
    EXPECT_LE(t, lowMax);
    EXPECT_GE(t, lowMax - bin);
    EXPECT_LT(t, hiMin);
    std::size_t lowAbove = 0;
    for (int i = 0; i < 1000; ++i)
        lowAbove += a[i] > t;
    const OverlapScores o = overlapAtThreshold(a.data(), s.data(), a.size(), t, false);
    EXPECT_EQ(o.area, 300u + lowAbove);
    EXPECT_EQ(o.intersection, 300u);
    EXPECT_LT(lowAbove, 60u);  // a sliver of one bin, not a class
}

TEST(MeanFinite, SkipsUndefinedCases)
{
    std::size_t used = 0;
    EXPECT_DOUBLE_EQ(meanFinite({0.5, std::nan(""), 0.7}, &used), 0.6);
    EXPECT_EQ(used, 2u);
    EXPECT_TRUE(std::isnan(meanFinite({std::nan("")})));
}

}  // namespace
