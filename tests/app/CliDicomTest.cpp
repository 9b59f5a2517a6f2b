// camsight-cli's DICOM commands (full build): dicom-export round trips through NIfTI against ITK's own reading of
// every file.

// Local
#include "core/io/ItkFormats.h"
#include "tests/support/Cli.h"
#include "tests/support/MiniJson.h"
#include "tests/support/SharedData.h"

// Std
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

using camsight::test::cli;
using camsight::test::CliRun;
using camsight::test::Json;
namespace fs = std::filesystem;

TEST(Cli, DicomExportRoundTripsThroughNifti)
{
    CAMSIGHT_REQUIRE_SHARED("data/dicom/series/ge_mr_t1_mprage_3d_130sl");
    const fs::path series = camsight::test::sharedDir() / "data/dicom/series/ge_mr_t1_mprage_3d_130sl";
    const CliRun info = cli("dicom-info " + series.string());
    ASSERT_EQ(info.code, 0) << info.out;
    const Json s = Json::parse(info.out)["series"][0];
    const fs::path out = camsight::test::scratchDir() / "mprage.nii.gz";
    const CliRun r = cli("dicom-export " + series.string() + " --series " + s["uid"].str + " --out " + out.string());
    ASSERT_EQ(r.code, 0) << r.out;
    const camsight::io::ImageFile nii = camsight::io::readImageFile(out.string());
    ASSERT_EQ(std::vector<double>(nii.size.begin(), nii.size.end()), s["dimensions"].numbers());
    // The oblique geometry survives the NIfTI header (qform/sform in float32: 1e-4).
    for (int k = 0; k < 3; ++k) {
        EXPECT_NEAR(nii.geometry.spacing[k], s["spacing"][k].num, 1e-4);
        EXPECT_NEAR(nii.geometry.origin[k], s["origin"][k].num, 1e-3);
        for (int c = 0; c < 3; ++c)  // dicom-info lists each axis' cosines; Geometry holds them as columns
            EXPECT_NEAR(nii.geometry.direction[c * 3 + k], s["direction"][k * 3 + c].num, 1e-4);
    }
    // Every file, read on its own by ITK's GDCM reader, is the exported slice at its position along the normal.
    const auto& g = nii.geometry;
    const std::array<double, 3> normal{g.direction[2], g.direction[5], g.direction[8]};
    const std::size_t plane = nii.size[0] * nii.size[1];
    int checked = 0;
    for (const auto& e : fs::directory_iterator(series)) {
        const camsight::io::ImageFile f = camsight::io::readImageFile(e.path().string());
        double along = 0;
        for (int c = 0; c < 3; ++c)
            along += (f.geometry.origin[c] - g.origin[c]) * normal[c];
        const long k = std::lround(along / g.spacing[2]);
        ASSERT_GE(k, 0);
        ASSERT_LT(std::size_t(k), nii.size[2]);
        ASSERT_EQ(f.pixels.size(), plane);
        double worst = 0;
        for (std::size_t i = 0; i < plane; ++i)
            worst = std::max(worst, double(std::fabs(f.pixels[i] - nii.pixels[std::size_t(k) * plane + i])));
        EXPECT_EQ(worst, 0) << e.path();
        ++checked;
    }
    EXPECT_EQ(checked, 130);
    const CliRun wrong = cli("dicom-export " + series.string() + " --series 1.2.3 --out " + out.string());
    EXPECT_EQ(wrong.code, 1);
    EXPECT_NE(wrong.out.find("no series 1.2.3"), std::string::npos) << wrong.out;
}
