// Heatmaps from .npy files onto a volume grid: exact shapes, one slice, enlarged low-resolution maps, clear refusals.

// Local
#include "core/io/HeatmapImport.h"
#include "core/io/Npy.h"
#include "tests/support/Checks.h"
#include "tests/support/SharedData.h"

// Std
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

using namespace camsight;

using camsight::test::errorOf;

namespace {

std::string npyFile(const std::string& name, const std::vector<float>& v, const std::vector<std::size_t>& shape)
{
    const std::string p = (test::scratchDir() / name).string();
    io::writeNpy(p, v.data(), shape);
    return p;
}

image::Grid grid(std::size_t nx, std::size_t ny, std::size_t nz)
{
    image::Grid g;
    g.size = {nx, ny, nz};
    return g;
}

}  // namespace

TEST(HeatmapImport, VolumeAndSliceShapesPlaceValuesExactly)
{
    std::vector<float> vol(4 * 3 * 2);
    for (std::size_t i = 0; i < vol.size(); ++i)
        vol[i] = float(i);
    const auto a = io::importHeatmapNpy(npyFile("vol.npy", vol, {1, 2, 3, 4}), grid(4, 3, 2));
    EXPECT_EQ(a.values, vol);
    EXPECT_EQ(a.how, "exact grid");

    const std::vector<float> plane{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    const auto b = io::importHeatmapNpy(npyFile("plane.npy", plane, {3, 4}), grid(4, 3, 2), 1);
    ASSERT_EQ(b.values.size(), 24u);
    for (std::size_t i = 0; i < 12; ++i) {
        EXPECT_EQ(b.values[i], 0.0f);
        EXPECT_EQ(b.values[12 + i], plane[i]);
    }
    EXPECT_EQ(b.coveredVoxels, 12u);
}

TEST(HeatmapImport, LowResolutionMapIsEnlargedWithHalfPixelCentres)
{
    // 2 x 2 -> 4 x 4: output centre x maps to (x + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75, 1.25 (clamped to [0, 1]).
    const auto r = io::importHeatmapNpy(npyFile("low.npy", {0, 1, 2, 3}, {2, 2}), grid(4, 4, 1));
    const float want[4] = {0.0f, 0.25f, 0.75f, 1.0f};
    for (int x = 0; x < 4; ++x) {
        EXPECT_FLOAT_EQ(r.values[x], want[x]);                       // row 0: top row of the map
        EXPECT_FLOAT_EQ(r.values[12 + x], 2.0f + want[x]);          // row 3: bottom row
        EXPECT_FLOAT_EQ(r.values[4 + x], 0.5f + want[x]);           // row 1: y = 0.25 between rows
    }
    EXPECT_EQ(r.how, "enlarged from 2 x 2 (bilinear, whole slice)");
}

TEST(HeatmapImport, RefusesWhatCannotMatch)
{
    const std::string wrongAspect = npyFile("aspect.npy", std::vector<float>(6), {2, 3});
    EXPECT_EQ(errorOf([&] { io::importHeatmapNpy(wrongAspect, grid(4, 4, 1)); }),
              wrongAspect + ": heatmap of shape (2, 3) cannot be placed on the volume (1, 4, 4) (slices, rows, columns): "
                            "a 2D heatmap must have the slice's size 4 x 4 or its aspect ratio");
    const std::string wrong3d = npyFile("wrong3d.npy", std::vector<float>(8), {2, 2, 2});
    EXPECT_EQ(errorOf([&] { io::importHeatmapNpy(wrong3d, grid(2, 2, 3)); }),
              wrong3d + ": heatmap of shape (2, 2, 2) cannot be placed on the volume (3, 2, 2) (slices, rows, columns): "
                        "a 3D heatmap must have the volume's shape");
    const std::string nan = npyFile("nan.npy", {0, std::numeric_limits<float>::quiet_NaN(), 0, 0}, {2, 2});
    EXPECT_EQ(errorOf([&] { io::importHeatmapNpy(nan, grid(2, 2, 1)); }), nan + ": the heatmap contains NaN or infinite values");
    const std::string big = npyFile("big.npy", std::vector<float>(64), {8, 8});
    EXPECT_EQ(errorOf([&] { io::importHeatmapNpy(big, grid(4, 4, 1)); }),
              big + ": heatmap of shape (8, 8) cannot be placed on the volume (1, 4, 4) (slices, rows, columns): "
                    "a 2D heatmap larger than the slice is ambiguous");
    EXPECT_EQ(errorOf([&] { io::importHeatmapNpy(big, grid(8, 8, 2), 2); }), "slice 2 is outside the volume's 2 slices");
}
