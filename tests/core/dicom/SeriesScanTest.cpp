// Series scanning on the real public data of ../shared/data (README there) and on synthetic slice lists.

// Local
#include "core/dicom/SeriesScan.h"
#include "core/io/Json.h"
#include "tests/support/SharedData.h"

// Std
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>

using namespace camsight;

namespace {

std::string letters(const image::Geometry& g)
{
    std::string s;
    for (int a = 0; a < 3; ++a)
        s += image::Geometry::dominantLetter(g.axis(a));
    return s;
}

dicom::SliceInfo slice(double z, int rows = 4, int cols = 4)
{
    dicom::SliceInfo s;
    s.path = "slice" + std::to_string(z);
    s.rows = rows;
    s.columns = cols;
    s.position = image::Vec3{0, 0, z};
    s.orientation = std::array<double, 6>{1, 0, 0, 0, 1, 0};
    return s;
}

std::vector<std::pair<dicom::SeriesInfo, dicom::SliceInfo>> seriesOf(const std::vector<dicom::SliceInfo>& slices)
{
    dicom::SeriesInfo s;
    s.studyUid = "1.2";
    s.seriesUid = "1.2.3";
    std::vector<std::pair<dicom::SeriesInfo, dicom::SliceInfo>> out;
    for (const auto& x : slices)
        out.emplace_back(s, x);
    return out;
}

}  // namespace

TEST(SeriesScan, ObliqueMpRageIsOneVolumeWithTheSidecarGeometry)
{
    CAMSIGHT_REQUIRE_SHARED("data/dicom/series/ge_mr_t1_mprage_3d_130sl");
    std::size_t progressCalls = 0;
    dicom::ScanOptions opt;
    opt.progress = [&](std::size_t, std::size_t) { ++progressCalls; };
    const auto r = dicom::scanFolder((test::sharedDir() / "data/dicom/series/ge_mr_t1_mprage_3d_130sl").string(), opt);
    EXPECT_EQ(progressCalls, 130u);
    ASSERT_EQ(r.series.size(), 1u);
    const auto& s = r.series[0];
    EXPECT_TRUE(r.errors.empty());
    EXPECT_EQ(s.dims, (std::array<std::size_t, 3>{256, 256, 130}));
    EXPECT_EQ(s.description, "3D Ax T1 MP-RAGE_R22");
    EXPECT_TRUE(s.warnings.empty()) << s.warnings.front();
    const io::Json side = io::Json::parseFile(
        (test::sharedDir() / "data/dicom/series/ge_mr_t1_mprage_3d_130sl.dcm2niix_reference.json").string());
    EXPECT_NEAR(s.geometry.spacing[2], side["SpacingBetweenSlices"].num, 1e-3);
    const auto iop = side["ImageOrientationPatientDICOM"].numbers();
    for (int r2 = 0; r2 < 3; ++r2) {
        EXPECT_NEAR(s.geometry.direction[3 * r2 + 0], iop[r2], 1e-5);
        EXPECT_NEAR(s.geometry.direction[3 * r2 + 1], iop[3 + r2], 1e-5);
    }
    // Sorted along the normal: positions strictly increase by the spacing; file names are not in that order.
    for (std::size_t i = 1; i < s.slices.size(); ++i)
        EXPECT_NEAR(s.slices[i].normalPosition - s.slices[i - 1].normalPosition, 1.2, 1e-3);
    std::vector<std::string> names;
    for (const auto& x : s.slices)
        names.push_back(x.path);
    EXPECT_FALSE(std::is_sorted(names.begin(), names.end()));
}

TEST(SeriesScan, CoronalWristGetsItsOrientationLetters)
{
    CAMSIGHT_REQUIRE_SHARED("data/dicom/series/ge_genesis_mr_wrist_coronal_16sl");
    const auto r = dicom::scanFolder((test::sharedDir() / "data/dicom/series/ge_genesis_mr_wrist_coronal_16sl").string());
    ASSERT_EQ(r.series.size(), 1u);
    const auto& s = r.series[0];
    EXPECT_EQ(s.dims, (std::array<std::size_t, 3>{256, 256, 16}));
    // Rows run to the patient's left, columns to the feet, slices posterior: coronal.
    EXPECT_EQ(letters(s.geometry), "LIP");
    EXPECT_EQ(s.modality, "MR");
}

TEST(SeriesScan, EdgeFolderReportsErrorsAndNonImagesPerFile)
{
    CAMSIGHT_REQUIRE_SHARED("data/dicom/edge");
    const auto r = dicom::scanFolder((test::sharedDir() / "data/dicom/edge").string());
    auto hasError = [&](const std::string& name, const std::string& text) {
        for (const auto& e : r.errors)
            if (e.path.find(name) != std::string::npos)
                return e.message.find(text) != std::string::npos;
        return false;
    };
    EXPECT_TRUE(hasError("bad_vr_value_rtdose.dcm", "NumberOfFrames is '1A'"));
    auto skipped = [&](const std::string& name) {
        return std::any_of(r.skipped.begin(), r.skipped.end(), [&](const std::string& p) { return p.find(name) != std::string::npos; });
    };
    EXPECT_TRUE(skipped("sr_comprehensive.dcm"));
    EXPECT_TRUE(skipped("ecg_waveform.dcm"));
    EXPECT_TRUE(skipped("dicomdir_fileset/DICOMDIR"));
    // Every image file is in exactly one series; no path twice.
    std::vector<std::string> all;
    for (const auto& s : r.series)
        for (const auto& x : s.slices)
            all.push_back(x.path);
    std::sort(all.begin(), all.end());
    EXPECT_EQ(std::adjacent_find(all.begin(), all.end()), all.end());
    EXPECT_EQ(all.size() + r.errors.size() + r.skipped.size() + r.notDicom.size(), r.filesExamined);
    EXPECT_TRUE(std::any_of(r.notDicom.begin(), r.notDicom.end(), [](const std::string& p) { return p.find(".nii") != std::string::npos; }));
}

TEST(SeriesScan, CancelStopsTheScan)
{
    CAMSIGHT_REQUIRE_SHARED("data/dicom/series/ge_mr_t1_mprage_3d_130sl");
    std::atomic<bool> cancel{false};
    dicom::ScanOptions opt;
    opt.cancel = &cancel;
    opt.progress = [&](std::size_t done, std::size_t) {
        if (done >= 5)
            cancel = true;
    };
    const auto r = dicom::scanFolder((test::sharedDir() / "data/dicom/series/ge_mr_t1_mprage_3d_130sl").string(), opt);
    EXPECT_TRUE(r.cancelled);
    EXPECT_TRUE(r.series.empty());
}

TEST(SeriesGrouping, SplitsStacksAndFlagsSpacingProblems)
{
    // Shuffled positions, sorted along the normal.
    auto uniform = dicom::groupSeries(seriesOf({slice(2), slice(0), slice(1), slice(3)}));
    ASSERT_EQ(uniform.size(), 1u);
    EXPECT_TRUE(uniform[0].warnings.empty());
    EXPECT_EQ(uniform[0].slices.front().path, "slice0.000000");
    EXPECT_DOUBLE_EQ(uniform[0].geometry.spacing[2], 1.0);

    auto gap = dicom::groupSeries(seriesOf({slice(0), slice(1), slice(2), slice(5), slice(6)}));
    ASSERT_EQ(gap[0].warnings.size(), 1u);
    EXPECT_EQ(gap[0].warnings[0], "1 gap(s) larger than 1.5 x the usual spacing of 1 mm");

    auto dup = dicom::groupSeries(seriesOf({slice(0), slice(1), slice(1), slice(2)}));
    EXPECT_EQ(dup[0].warnings.at(0), "1 duplicate slice position(s)");

    auto uneven = dicom::groupSeries(seriesOf({slice(0), slice(1), slice(2.2), slice(3.2), slice(4.2)}));
    EXPECT_EQ(uneven[0].warnings.at(0).rfind("non-uniform slice spacing", 0), 0u);

    // A localizer of another size in the same series becomes its own stack.
    auto mixed = dicom::groupSeries(seriesOf({slice(0), slice(1, 8, 8), slice(1), slice(2)}));
    ASSERT_EQ(mixed.size(), 2u);
    EXPECT_EQ(mixed[0].dims, (std::array<std::size_t, 3>{4, 4, 3}));
    EXPECT_EQ(mixed[1].dims, (std::array<std::size_t, 3>{8, 8, 1}));
    EXPECT_EQ(mixed[1].stackIndex, 1);
}
