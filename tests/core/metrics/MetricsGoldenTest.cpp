// Golden comparisons against ../shared/golden/metrics (Quantus v0.5.3, TorchRay, torcheval, the seed notebook).
// Tolerances are the README's: counts and ratios of counts exact (1e-12), AUC 1e-9, mass ratios 1e-5 relative,
// AUC-Judd 1e-9; torcheval's AUPRC 2e-6 absolute (it sums float32 products in float32).

// Local
#include "core/io/Npy.h"
#include "core/metrics/Localization.h"
#include "core/metrics/Report.h"
#include "tests/support/MiniJson.h"
#include "tests/support/SharedData.h"

// Std
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

using namespace camsight;
using camsight::test::Json;
namespace fs = std::filesystem;

namespace {

struct Case {
    std::string name;
    std::vector<float> heat;
    std::vector<std::uint8_t> mask;
    metrics::MapShape shape;
    Json manifest;
    std::map<std::string, double> values;  // values.npy by value_names
};

Case loadCase(const std::string& name, const Json& valueNames)
{
    const fs::path dir = test::sharedDir() / "golden/metrics/cases" / name;
    Case c;
    c.name = name;
    const io::NpyArray h = io::readNpy((dir / "heatmap.npy").string());
    const io::NpyArray m = io::readNpy((dir / "mask.npy").string());
    c.heat = h.toFloat();
    for (double v : m.toDouble())
        c.mask.push_back(v != 0);
    c.shape.ny = h.shape.at(0);
    c.shape.nx = h.shape.at(1);
    c.manifest = Json::parseFile((dir / "manifest.json").string());
    const auto vals = io::readNpy((dir / "values.npy").string()).toDouble();
    for (std::size_t i = 0; i < valueNames.arr.size(); ++i)
        c.values[valueNames[i].str] = vals.at(i);
    return c;
}

// Equal within abs + rel*|expected|, NaN equal to NaN, inf to inf of the same sign.
::testing::AssertionResult near(double got, double want, double abs, double rel = 0)
{
    if (std::isnan(want) && std::isnan(got))
        return ::testing::AssertionSuccess();
    if (std::isinf(want) && got == want)
        return ::testing::AssertionSuccess();
    if (std::fabs(got - want) <= abs + rel * std::fabs(want))
        return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "got " << got << ", want " << want << " (tolerance abs " << abs << " rel " << rel << ")";
}

class MetricsGolden : public ::testing::Test {
protected:
    void SetUp() override
    {
        CAMSIGHT_REQUIRE_SHARED("golden/metrics");
        const Json top = Json::parseFile((test::sharedDir() / "golden/metrics/manifest.json").string());
        s1 = Json::parseFile((test::sharedDir() / "golden/metrics/s1_auprc_aucjudd.json").string());
        for (const auto& [name, _] : top["cases"].obj)
            cases.push_back(loadCase(name, top["value_names"]));
        ASSERT_EQ(cases.size(), 32u);
    }
    std::vector<Case> cases;
    Json s1;
};

TEST_F(MetricsGolden, OwnMetricsMatchReference)
{
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        const metrics::Report r = metrics::evaluate(c.heat.data(), c.mask.data(), c.shape);
        for (const char* k : {"heatmap_max", "heatmap_min", "mask_area", "n_pixels", "n_maxima",
                              "pointing_game_first_argmax_in_mask", "pointing_game_tol15", "pointing_game_tol15_any_maximum",
                              "pointing_game_any_maximum_in_mask", "thr0p2_area", "thr0p5_area", "thr0p8_area", "dice_thr0p2",
                              "iou_thr0p2", "dice_thr0p5", "iou_thr0p5", "dice_thr0p8", "iou_thr0p8", "thr0p2_value",
                              "thr0p5_value", "thr0p8_value", "first_argmax_min_dist_to_mask_px"})
            EXPECT_TRUE(near(r.get(k), c.values.at(std::string("own.") + k), 1e-12, 1e-12)) << k;
        EXPECT_TRUE(near(r.get("energy_pointing_game"), c.values.at("own.energy_pointing_game"), 1e-7, 1e-5));
        // The float64 cross-checks are the bare formulas; on an empty mask Quantus (and CamSight) report NaN.
        const bool emptyMask = c.values.at("own.mask_area") == 0;
        EXPECT_TRUE(near(r.get("RelevanceMassAccuracy"), emptyMask ? NAN : c.values.at("own.f64_relevance_mass_accuracy_raw"), 1e-12, 1e-12));
        EXPECT_TRUE(near(r.get("AUC"), c.values.at("own.f64_auc_mann_whitney_raw"), 1e-9));
    }
}

// Quantus v0.5.3 on the raw map; where its __call__ refused the map, the unguarded evaluate_instance ("direct").
TEST_F(MetricsGolden, QuantusRawMatchesV053)
{
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        const metrics::Report r = metrics::evaluate(c.heat.data(), c.mask.data(), c.shape);
        const Json& q = c.manifest["quantus"]["quantus_v0.5.3"];
        auto want = [&](const char* m) {
            const Json& e = q[m];
            return e["raw"].type == Json::Type::Null && e.has("raw_error") ? e["direct"].number() : e["raw"].number();
        };
        EXPECT_EQ(r.get("quantus_valid_input") == 1.0, !q["PointingGame"].has("raw_error"));
        EXPECT_TRUE(near(r.get("PointingGame"), want("PointingGame"), 0));
        EXPECT_TRUE(near(r.get("AttributionLocalisation"), want("AttributionLocalisation"), 1e-7, 1e-5));
        EXPECT_TRUE(near(r.get("RelevanceMassAccuracy"), want("RelevanceMassAccuracy"), 1e-7, 1e-5));
        EXPECT_TRUE(near(r.get("AUC"), want("AUC"), 1e-9));
        // Rank metrics: the stable descending order's value, inside the interval Quantus' argsort can produce.
        const Json& ties = c.manifest["tie_intervals"];
        for (auto [metric, key] : {std::pair{"TopKIntersection", "TopKIntersection_raw"},
                                   std::pair{"RelevanceRankAccuracy", "RelevanceRankAccuracy_raw"}}) {
            const double got = r.get(metric);
            const Json& t = ties[key];
            if (c.mask.end() == std::find(c.mask.begin(), c.mask.end(), 1)) {
                EXPECT_TRUE(std::isnan(got)) << metric;
                continue;
            }
            EXPECT_TRUE(near(got, t["stable_desc"].number(), 1e-12)) << metric;
            EXPECT_GE(got, t["min"].number() - 1e-12) << metric;
            EXPECT_LE(got, t["max"].number() + 1e-12) << metric;
            if (!t["tie_sensitive"].boolean && !q[metric].has("raw_error")) {
                EXPECT_TRUE(near(got, q[metric]["raw"].number(), 1e-12)) << metric << " equals Quantus itself";
            }
        }
    }
}

// Quantus' default preprocessing (normalise by max |a|; abs for AttributionLocalisation) then the same formulas.
TEST_F(MetricsGolden, QuantusDefaultMatchesV053)
{
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        const Json& q = c.manifest["quantus"]["quantus_v0.5.3"];
        if (q["PointingGame"].has("default_error"))
            continue;  // Quantus refuses the map; covered by the raw test's "direct" values
        const std::size_t n = c.heat.size();
        const auto norm = metrics::quantusPreprocess(c.heat.data(), n, true, false);
        const auto normAbs = metrics::quantusPreprocess(c.heat.data(), n, true, true);
        const metrics::RankOrder order(norm.data(), n);
        EXPECT_TRUE(near(metrics::pointingGame(norm.data(), c.mask.data(), n), q["PointingGame"]["default"].number(), 0));
        EXPECT_TRUE(near(metrics::pointingGame(norm.data(), c.mask.data(), n, true),
                         q["PointingGame"]["default_weighted"].number(), 1e-12));
        EXPECT_TRUE(near(metrics::attributionLocalisation(normAbs.data(), c.mask.data(), n),
                         q["AttributionLocalisation"]["default"].number(), 1e-7, 1e-5));
        EXPECT_TRUE(near(metrics::attributionLocalisation(normAbs.data(), c.mask.data(), n, true),
                         q["AttributionLocalisation"]["default_weighted"].number(), 1e-7, 1e-5));
        EXPECT_TRUE(near(metrics::relevanceMassAccuracy(norm.data(), c.mask.data(), n),
                         q["RelevanceMassAccuracy"]["default"].number(), 1e-7, 1e-5));
        EXPECT_TRUE(near(metrics::auroc(order, c.mask.data()), q["AUC"]["default"].number(), 1e-9));
        const Json& ties = c.manifest["tie_intervals"];
        if (c.values.at("own.mask_area") == 0) {  // the tie intervals ignore Quantus' empty-mask NaN
            EXPECT_TRUE(std::isnan(metrics::topKIntersection(order, c.mask.data())));
            EXPECT_TRUE(std::isnan(metrics::relevanceRankAccuracy(order, c.mask.data())));
            continue;
        }
        EXPECT_TRUE(near(metrics::topKIntersection(order, c.mask.data()), ties["TopKIntersection_default"]["stable_desc"].number(), 1e-12));
        EXPECT_TRUE(near(metrics::relevanceRankAccuracy(order, c.mask.data()),
                         ties["RelevanceRankAccuracy_default"]["stable_desc"].number(), 1e-12));
    }
}

TEST_F(MetricsGolden, AuprcAndAucJuddMatchSeedCode)
{
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        const Json& want = s1[c.name];
        const metrics::Report r = metrics::evaluate(c.heat.data(), c.mask.data(), c.shape);
        EXPECT_TRUE(near(r.get("auprc_torcheval"), want["auprc_torcheval"].number(), 2e-6));
        EXPECT_TRUE(near(r.get("auc_judd"), want["auc_judd"].number(), 1e-9));
        // The seed pipeline's min-max scaling (pytorch-grad-cam's scale_cam_image, float32) before the AUPRC.
        std::vector<float> scaled(c.heat);
        const float mn = *std::min_element(scaled.begin(), scaled.end());
        for (float& v : scaled)
            v = v - mn;
        const float mx = *std::max_element(scaled.begin(), scaled.end());
        for (float& v : scaled)
            v = v / (1e-7f + mx);
        const metrics::RankOrder order(scaled.data(), scaled.size());
        EXPECT_TRUE(near(metrics::auprc(order, c.mask.data()), want["auprc_torcheval_minmax"].number(), 2e-6));
    }
}

}  // namespace
