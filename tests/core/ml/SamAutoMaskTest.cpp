// Automatic mask generation. The helpers against values printed by segment-anything dca509fe (amg.py) and hand
// cases; the whole generator against tests/data/amg (scripts/make-amg-reference.py: SamAutomaticMaskGenerator on the
// tiny random-weight SAM of ../shared/golden/sam). Tolerances: order, count and points exact; predicted IoU 1e-4 (the
// SAM golden's); stability, area and box may move only by the pixels whose logits lie near a threshold: stability
// 2e-3, area 0.2 %, box edges 2 px.

// Local
#include "core/io/Json.h"
#include "core/io/Npy.h"
#include "core/ml/SamAutoMask.h"
#include "tests/support/SharedData.h"

// Std
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

using namespace camsight;
using namespace camsight::ml;

namespace {

TEST(AutoMaskHelpers, PointGridAndCropBoxesEqualTheReference)
{
    const auto g = automask::pointGrid(3);
    ASSERT_EQ(g.size(), 9u);
    EXPECT_DOUBLE_EQ(g[1][0], 0.5);
    EXPECT_DOUBLE_EQ(g[1][1], 0.16666666666666666);
    EXPECT_DOUBLE_EQ(g[2][0], 0.8333333333333334);
    EXPECT_DOUBLE_EQ(g[6][1], 0.8333333333333334);
    std::vector<int> layers;
    const auto boxes = automask::cropBoxes(517, 333, 1, 512.0 / 1500.0, &layers);
    const std::vector<std::array<int, 4>> want{{0, 0, 517, 333}, {0, 0, 315, 223}, {0, 110, 315, 333},
                                               {202, 0, 517, 223}, {202, 110, 517, 333}};
    EXPECT_EQ(boxes, want);
    EXPECT_EQ(layers, (std::vector<int>{0, 1, 1, 1, 1}));
    const auto two = automask::cropBoxes(517, 333, 2, 512.0 / 1500.0, nullptr);
    ASSERT_EQ(two.size(), 21u);
    EXPECT_EQ(two[5], (std::array<int, 4>{0, 0, 172, 126}));
    EXPECT_EQ(two[8], (std::array<int, 4>{0, 210, 172, 333}));
}

TEST(AutoMaskHelpers, NmsKeepsTheBestOfOverlappingBoxes)
{
    const std::vector<std::array<float, 4>> boxes{{0, 0, 10, 10}, {1, 1, 11, 11}, {20, 20, 30, 30}, {0, 0, 10, 9}, {5, 5, 5, 5}};
    const std::vector<float> scores{0.5f, 0.9f, 0.1f, 0.7f, 0.95f};
    // IoU(1, 0) = 81 / 119 = 0.68; IoU(1, 3) = 72 / 118 = 0.61; IoU(0, 3) = 0.9; the empty box overlaps nothing.
    EXPECT_EQ(automask::nms(boxes, scores, 0.65), (std::vector<std::size_t>{4, 1, 3, 2}));
    EXPECT_EQ(automask::nms(boxes, scores, 0.6), (std::vector<std::size_t>{4, 1, 2}));
    EXPECT_EQ(automask::nms(boxes, scores, 1.0), (std::vector<std::size_t>{4, 1, 3, 0, 2}));
}

TEST(AutoMaskHelpers, SmallHolesFilledAndSmallIslandsDropped)
{
    // 8 x 6: a 5 x 4 block with a one-pixel hole, a one-pixel island touching the block diagonally (8-connected: part
    // of it), and a two-pixel island apart.
    const int w = 8, h = 6;
    std::vector<std::uint8_t> m(std::size_t(w * h), 0);
    const auto set = [&](int x, int y) { m[std::size_t(y * w + x)] = 1; };
    for (int y = 0; y < 4; ++y)
        for (int x = 0; x < 5; ++x)
            if (!(x == 2 && y == 1))
                set(x, y);
    set(5, 4);        // diagonal neighbour of (4, 3): same component
    set(7, 0);
    set(7, 1);        // a two-pixel island
    auto holes = m;
    EXPECT_TRUE(automask::removeSmallRegions(holes, w, h, 2, true));
    EXPECT_EQ(holes[std::size_t(1 * w + 2)], 1);  // the hole is filled
    EXPECT_EQ(std::count(holes.begin(), holes.end(), 1), std::count(m.begin(), m.end(), 1) + 1);
    auto islands = m;
    EXPECT_TRUE(automask::removeSmallRegions(islands, w, h, 3, false));
    EXPECT_EQ(islands[std::size_t(0 * w + 7)], 0);
    EXPECT_EQ(islands[std::size_t(4 * w + 5)], 1);
    auto unchanged = m;
    EXPECT_FALSE(automask::removeSmallRegions(unchanged, w, h, 1, false));
    EXPECT_EQ(unchanged, m);
    // Every island small: the largest stays.
    auto largest = m;
    EXPECT_TRUE(automask::removeSmallRegions(largest, w, h, 100, false));
    EXPECT_EQ(std::count(largest.begin(), largest.end(), 1), std::count(m.begin(), m.end(), 1) - 2);
    EXPECT_EQ(automask::maskBox(m.data(), w, h), (std::array<int, 4>{0, 0, 7, 4}));
}

class AutoMaskGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(AutoMaskGolden, EqualsSamAutomaticMaskGenerator)
{
    CAMSIGHT_REQUIRE_SHARED("golden/sam/sam_tiny.pth");
    const auto doc = io::Json::parseFile(std::string(CAMSIGHT_SOURCE_DIR) + "/tests/data/amg/" + GetParam() + ".json");
    const auto& s = doc["settings"];
    AutoMaskOptions o;
    o.pointsPerSide = int(s["points_per_side"].number());
    o.pointsPerBatch = int(s["points_per_batch"].number());
    o.predIouThresh = s["pred_iou_thresh"].number();
    o.stabilityScoreThresh = s["stability_score_thresh"].number();
    if (const auto* v = s.find("stability_score_offset"))
        o.stabilityScoreOffset = v->number();
    if (const auto* v = s.find("box_nms_thresh"))
        o.boxNmsThresh = v->number();
    if (const auto* v = s.find("crop_n_layers"))
        o.cropLayers = int(v->number());
    if (const auto* v = s.find("crop_n_points_downscale_factor"))
        o.cropPointsDownscale = int(v->number());
    const auto model = SamModel::load((test::sharedDir() / "golden/sam/sam_tiny.pth").string());
    const io::NpyArray a = io::readNpy((test::sharedDir() / doc["image"].str).string());
    RgbImage image;
    image.height = int(a.shape.at(0));
    image.width = int(a.shape.at(1));
    image.rgb.assign(a.bytes.begin(), a.bytes.end());
    int lastDone = 0, lastTotal = 0;
    const auto masks = generateMasks(model, image, o, [&](int done, int total) {
        EXPECT_GT(done, lastDone);
        lastDone = done;
        lastTotal = total;
    });
    EXPECT_EQ(lastDone, lastTotal);
    const auto& want = doc["masks"].arr;
    ASSERT_EQ(masks.size(), want.size());
    for (std::size_t i = 0; i < masks.size(); ++i) {
        SCOPED_TRACE("mask " + std::to_string(i));
        const auto& m = masks[i];
        const auto& r = want[i];
        EXPECT_DOUBLE_EQ(m.point[0], r["point_coords"][0][0].number());
        EXPECT_DOUBLE_EQ(m.point[1], r["point_coords"][0][1].number());
        EXPECT_NEAR(m.predictedIou, r["predicted_iou"].number(), 1e-4);
        EXPECT_NEAR(m.stabilityScore, r["stability_score"].number(), 2e-3);
        EXPECT_NEAR(double(m.area), r["area"].number(), 0.002 * r["area"].number() + 1);
        for (int k = 0; k < 4; ++k) {
            EXPECT_NEAR(m.bbox[std::size_t(k)], r["bbox"][std::size_t(k)].number(), 2);
            EXPECT_EQ(m.cropBox[std::size_t(k)], int(r["crop_box"][std::size_t(k)].number()));
        }
        EXPECT_EQ(m.mask.size(), std::size_t(image.width) * std::size_t(image.height));
        EXPECT_EQ(std::count(m.mask.begin(), m.mask.end(), 1), m.area);
    }
}

INSTANTIATE_TEST_SUITE_P(Reference, AutoMaskGolden, ::testing::Values("grid4_all", "grid8_iou", "grid6_crops"));

}  // namespace
