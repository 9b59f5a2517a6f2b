// ITK-backed files (full build): NIfTI round trip with geometry, and NIfTI heatmaps resampled in patient space.

// Local
#include "core/io/HeatmapImport.h"
#include "core/io/ItkFormats.h"
#include "tests/support/SharedData.h"

// Std
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

using namespace camsight;

namespace {

// A linear function of patient position: trilinear interpolation reproduces it exactly.
double ramp(const image::Vec3& p) { return 0.5 * p[0] - 0.25 * p[1] + 0.125 * p[2] + 3.0; }

io::ImageFile rampImage(const image::Grid& g)
{
    io::ImageFile f;
    f.size = g.size;
    f.geometry = g.geometry;
    for (std::size_t k = 0; k < g.size[2]; ++k)
        for (std::size_t j = 0; j < g.size[1]; ++j)
            for (std::size_t i = 0; i < g.size[0]; ++i)
                f.pixels.push_back(float(ramp(g.geometry.indexToPhysical({double(i), double(j), double(k)}))));
    return f;
}

}  // namespace

TEST(ImageFile, NiftiKeepsVoxelsAndGeometry)
{
    image::Grid g;
    g.size = {5, 4, 3};
    g.geometry.spacing = {0.8, 0.9, 2.5};
    g.geometry.origin = {-10, 20, 30};
    g.geometry.direction = {0, 0, 1, 1, 0, 0, 0, 1, 0};  // a rotated (non-axial) orientation
    const io::ImageFile f = rampImage(g);
    const std::string path = (test::scratchDir() / "ramp.nii.gz").string();
    io::writeImageFile(path, f);
    const io::ImageFile r = io::readImageFile(path);
    EXPECT_EQ(r.size, f.size);
    EXPECT_EQ(r.pixels, f.pixels);
    for (int d = 0; d < 3; ++d) {
        EXPECT_NEAR(r.geometry.spacing[d], g.geometry.spacing[d], 1e-6);
        EXPECT_NEAR(r.geometry.origin[d], g.geometry.origin[d], 1e-4);
    }
    for (int i = 0; i < 9; ++i)
        EXPECT_NEAR(r.geometry.direction[i], g.geometry.direction[i], 1e-6);

    const auto same = io::importHeatmapImage(path, g);
    EXPECT_EQ(same.how, "exact grid");
    EXPECT_EQ(same.values, f.pixels);
}

TEST(ImageFile, NiftiHeatmapIsResampledOntoAnotherGrid)
{
    image::Grid heat;
    heat.size = {10, 8, 6};
    heat.geometry.spacing = {2.0, 2.0, 3.0};
    heat.geometry.origin = {0, 0, 0};
    const std::string path = (test::scratchDir() / "heat.nii.gz").string();
    io::writeImageFile(path, rampImage(heat));

    image::Grid vol;  // finer, shifted: partly outside the heatmap
    vol.size = {30, 20, 4};
    vol.geometry.spacing = {0.7, 0.9, 2.0};
    vol.geometry.origin = {1.0, 2.0, 4.0};
    const auto r = io::importHeatmapImage(path, vol);
    EXPECT_EQ(r.how, "resampled in patient space (trilinear)");
    std::size_t inside = 0;
    for (std::size_t k = 0; k < 4; ++k)
        for (std::size_t j = 0; j < 20; ++j)
            for (std::size_t i = 0; i < 30; ++i) {
                const auto p = vol.geometry.indexToPhysical({double(i), double(j), double(k)});
                const bool in = p[0] <= 19.0 && p[1] <= 15.0 && p[2] <= 16.5;  // last centre + half a voxel
                const float v = r.values[(k * 20 + j) * 30 + i];
                if (in) {
                    ++inside;
                    const auto pc = image::Vec3{std::min(p[0], 18.0), std::min(p[1], 14.0), std::min(p[2], 15.0)};
                    ASSERT_NEAR(v, ramp(pc), 1e-4) << i << "," << j << "," << k;
                } else {
                    ASSERT_EQ(v, 0.0f) << i << "," << j << "," << k;
                }
            }
    EXPECT_EQ(r.coveredVoxels, inside);

    image::Grid far = vol;
    far.geometry.origin = {500, 500, 500};
    EXPECT_THROW(io::importHeatmapImage(path, far), std::runtime_error);
}

TEST(ImageFile, UnreadableFilesNameTheProblem)
{
    const std::string junk = (test::scratchDir() / "junk.nii").string();
    std::ofstream(junk) << "definitely not NIfTI";
    try {
        io::readImageFile(junk);
        FAIL() << "no error";
    } catch (const std::runtime_error& e) {
        EXPECT_EQ(std::string(e.what()).rfind(junk + ": ", 0), 0u) << e.what();
    }
    try {
        io::readImageFile("/nonexistent/x.nii.gz");
        FAIL() << "no error";
    } catch (const std::runtime_error& e) {
        EXPECT_STREQ(e.what(), "/nonexistent/x.nii.gz: no such file");
    }
}
