// Pixel loading, file by file over ../shared/data/dicom/edge: every image file either loads and equals an independent
// decoder (ITK's GDCM reader) voxel by voxel, or fails with one line naming the file and the reason. The 12-bit files
// with garbage in their unused high bits are checked against the dcm2niix references in ref_nifti/.

// Local
#include "core/dicom/SeriesLoad.h"
#include "core/dicom/SeriesScan.h"
#include "core/io/ItkFormats.h"
#include "tests/support/SharedData.h"

// Std
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>

using namespace camsight;
namespace fs = std::filesystem;

namespace {

// One file on its own (the edge files share series UIDs: the MR_small variants are one image in six encodings).
dicom::SeriesInfo single(const fs::path& file)
{
    const auto r = dicom::scanFiles({file.string()});
    if (r.series.size() != 1)
        throw std::runtime_error(file.string() + ": not one image series");
    return r.series[0];
}

}  // namespace

TEST(SeriesLoad, EveryEdgeImageLoadsLikeGdcmOrSaysWhyNot)
{
    CAMSIGHT_REQUIRE_SHARED("data/dicom/edge");
    // Files no decoder here can read (README "Findings"), and what CamSight must say about them.
    const std::map<std::string, std::string> expectedFailures = {
        {"htj2k_lossless_rgb.dcm", "unsupported transfer syntax High-Throughput JPEG 2000"},
        {"seg_deflated_image_frame_1bit.dcm", "unsupported transfer syntax Deflated Image Frame Compression"},
        {"seg_rle_1bit_unsupported.dcm", "cannot decode RLE Lossless"},
        {"seg_1bit_nonbyte_aligned_frames.dcm", "unsupported pixel layout"},
        {"corrupt_truncated_pixeldata.dcm", "truncated"},
    };
    int loaded = 0, comparedWithGdcm = 0, failed = 0;
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(test::sharedDir() / "data/dicom/edge"))
        if (e.is_regular_file())
            files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (const fs::path& file : files) {
        const auto scan = dicom::scanFiles({file.string()});
        if (scan.series.empty())
            continue;  // not an image (SR, RTSTRUCT, waveform) or refused by the scan (covered there)
        ASSERT_EQ(scan.series.size(), 1u) << file;
        const dicom::SeriesInfo& s = scan.series[0];
        const std::string name = fs::path(s.slices[0].path).filename().string();
        SCOPED_TRACE(name);
        dicom::LoadedSeries v;
        std::string error;
        try {
            v = dicom::loadSeries(s);
        } catch (const std::runtime_error& e) {
            error = e.what();
        }
        const auto expected = expectedFailures.find(name);
        if (!error.empty()) {
            ++failed;
            EXPECT_EQ(error.find('\n'), std::string::npos);
            EXPECT_EQ(error.rfind(s.slices[0].path + ": ", 0), 0u) << error;
            if (expected != expectedFailures.end()) {
                EXPECT_NE(error.find(expected->second), std::string::npos) << error;
            }
            std::printf("  %-44s error: %s\n", name.c_str(), error.substr(s.slices[0].path.size() + 2).c_str());
            continue;
        }
        EXPECT_EQ(expected, expectedFailures.end()) << "loaded although no decoder should";
        ++loaded;
        ASSERT_EQ(v.voxels.size(), v.dims.count() * dicom::pixelBytes(v.type));
        // The independent decoder, where it reads the file (skip what GDCM cannot, per the README).
        io::ImageFile g;
        try {
            g = io::readImageFile(s.slices[0].path);
        } catch (const std::runtime_error&) {
            std::printf("  %-44s loaded %zux%zux%zu; GDCM cannot read it\n", name.c_str(), v.dims.x, v.dims.y, v.dims.z);
            continue;
        }
        if (g.voxelCount() != v.dims.count() || (v.type == dicom::PixelType::Rgb8) != (g.components == 3))
            continue;  // GDCM reads multi-frame enhanced objects as one frame, ...
        const bool lossy = s.slices[0].transferSyntaxUid == "1.2.840.10008.1.2.4.50" ||
                           s.slices[0].transferSyntaxUid == "1.2.840.10008.1.2.4.51" ||
                           s.slices[0].transferSyntaxUid == "1.2.840.10008.1.2.4.81";
        const bool dirtyBits = name.find("12bit") != std::string::npos;  // checked against dcm2niix below
        double worst = 0;
        if (v.type == dicom::PixelType::Rgb8) {
            // Colour wider than 8 bits is shown by its top 8 stored bits; GDCM keeps all of them.
            const double scale = name == "palette_color_16bit_segmented_lut.dcm" ? 256.0 : 1.0;
            for (std::size_t i = 0; i < v.voxels.size(); ++i)
                worst = std::max(worst, std::fabs(double(v.voxels[i]) - std::floor(double(g.pixels[i]) / scale)));
            if (name.rfind("rgb_rle_", 0) == 0) {
                // GDCM (ITK 5.3) reads the RLE segments of 16- and 32-bit RGB out of order (its red comes back as
                // green). These are pydicom's SC_rgb picture at 16 and 32 bits (the second 32-bit frame its
                // inverse); the same picture at 8 bits, JPEG lossless, is the reference, decoded by GDCM.
                const auto ref = io::readImageFile((test::sharedDir() / "data/dicom/edge/jpeg_lossless_sv1_rgb.dcm").string());
                ASSERT_EQ(ref.pixels.size() * v.dims.z, v.voxels.size());
                worst = 0;
                for (std::size_t f = 0; f < v.dims.z; ++f)
                    for (std::size_t i = 0; i < ref.pixels.size(); ++i) {
                        const double want = f == 0 ? ref.pixels[i] : 255.0 - ref.pixels[i];
                        worst = std::max(worst, std::fabs(double(v.voxels[f * ref.pixels.size() + i]) - want));
                    }
            }
        } else {
            for (std::size_t i = 0; i < v.dims.count(); ++i)
                worst = std::max(worst, std::fabs(v.value(i) - g.pixels[i]));
        }
        if (name == "enhanced_mr_philips_64f.dcm") {
            // Its frames carry different rescales in their functional groups, which CamSight applies per frame and
            // GDCM ("This Enhanced Multiframe is not supported for now") does not: compare the first frame only.
            worst = 0;
            for (std::size_t i = 0; i < v.dims.x * v.dims.y; ++i)
                worst = std::max(worst, std::fabs(v.value(i) - g.pixels[i]));
        }
        if (v.monochrome1) {
            // GDCM turns MONOCHROME1 into MONOCHROME2 by inverting; CamSight keeps the stored values and flags the
            // inversion for display. The two must add up to one constant.
            const double sum = v.value(0) + g.pixels[0];
            worst = 0;
            for (std::size_t i = 0; i < v.dims.count(); ++i)
                worst = std::max(worst, std::fabs(v.value(i) + g.pixels[i] - sum));
        }
        if (!dirtyBits) {
            EXPECT_LE(worst, lossy ? 3.0 : 1e-3) << "max difference from GDCM";
            ++comparedWithGdcm;
        }
        std::printf("  %-44s loaded %zux%zux%zu, max |CamSight - GDCM| = %g\n", name.c_str(), v.dims.x, v.dims.y, v.dims.z, worst);
    }
    std::printf("  %d loaded (%d equal to GDCM), %d refused with a reason\n", loaded, comparedWithGdcm, failed);
    EXPECT_GE(loaded, 49);
    EXPECT_GE(comparedWithGdcm, 43);
}

TEST(SeriesLoad, TwelveBitFilesMaskAndSignExtendLikeDcm2niix)
{
    CAMSIGHT_REQUIRE_SHARED("data/dicom/edge/ref_nifti");
    for (const char* base : {"mr_12bit_unsigned", "mr_12bit_unsigned_dirty_highbits", "mr_12bit_signed_highbit11"}) {
        SCOPED_TRACE(base);
        const dicom::LoadedSeries v = dicom::loadSeries(single(test::sharedDir() / "data/dicom/edge" / (std::string(base) + ".dcm")));
        const io::ImageFile ref = io::readImageFile((test::sharedDir() / "data/dicom/edge/ref_nifti" / (std::string(base) + ".nii")).string());
        // These are Siemens mosaics: the 384 x 384 image holds 6 x 6 tiles of 64 x 64, and dcm2niix's reference is the
        // 64 x 64 x 35 volume of the first 35 tiles (rows written bottom-up). Compare tile k with reference slice k.
        const std::size_t tile = ref.size[0], tilesPerRow = v.dims.x / tile, slices = ref.size[2];
        ASSERT_EQ(ref.size[1], tile);
        std::size_t same = 0, flippedSame = 0;
        for (std::size_t k = 0; k < slices; ++k)
            for (std::size_t y = 0; y < tile; ++y)
                for (std::size_t x = 0; x < tile; ++x) {
                    const std::size_t ty = (k / tilesPerRow) * tile + y, tx = (k % tilesPerRow) * tile + x;
                    const double mine = v.value(ty * v.dims.x + tx);
                    same += mine == ref.pixels[(k * tile + y) * tile + x];
                    flippedSame += mine == ref.pixels[(k * tile + (tile - 1 - y)) * tile + x];
                }
        const std::size_t compared = slices * tile * tile;
        EXPECT_EQ(std::max(same, flippedSame), compared) << "voxels equal to dcm2niix";
    }
}

TEST(SeriesLoad, MpRageLoadsAtItsNativeTypeWithinTheMemoryBudget)
{
    CAMSIGHT_REQUIRE_SHARED("data/dicom/series/ge_mr_t1_mprage_3d_130sl");
    const auto scan = dicom::scanFolder((test::sharedDir() / "data/dicom/series/ge_mr_t1_mprage_3d_130sl").string());
    ASSERT_EQ(scan.series.size(), 1u);
    std::size_t calls = 0;
    dicom::LoadOptions opt;
    opt.progress = [&](std::size_t, std::size_t) { ++calls; };
    const dicom::LoadedSeries v = dicom::loadSeries(scan.series[0], opt);
    EXPECT_EQ(calls, 130u);
    EXPECT_EQ(v.type, dicom::PixelType::Int16);
    EXPECT_EQ(v.voxels.size(), 256u * 256u * 130u * 2u);  // stored once, at 2 bytes a voxel
    EXPECT_TRUE(v.errors.empty());
    double lo = 1e9, hi = -1e9;
    for (std::size_t i = 0; i < v.dims.count(); ++i) {
        lo = std::min(lo, v.value(i));
        hi = std::max(hi, v.value(i));
    }
    EXPECT_GE(lo, 0);
    EXPECT_GT(hi, 100);  // an MR head: non-negative intensities with real structure
}

// DCMTK-written series (the library CamSight reads with, writing the files a scanner would).
#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dctk.h>

namespace {

std::string writeSlice(const fs::path& dir, int index, double z, double intercept, const std::vector<std::uint16_t>& pixels)
{
    DcmFileFormat ff;
    DcmDataset* ds = ff.getDataset();
    ds->putAndInsertString(DCM_SOPClassUID, UID_CTImageStorage);
    ds->putAndInsertString(DCM_SOPInstanceUID, ("1.2.3.4.5." + std::to_string(index)).c_str());
    ds->putAndInsertString(DCM_StudyInstanceUID, "1.2.3.4");
    ds->putAndInsertString(DCM_SeriesInstanceUID, "1.2.3.4.5");
    ds->putAndInsertString(DCM_Modality, "CT");
    ds->putAndInsertString(DCM_InstanceNumber, std::to_string(index).c_str());
    ds->putAndInsertString(DCM_ImagePositionPatient, ("0\\0\\" + std::to_string(z)).c_str());
    ds->putAndInsertString(DCM_ImageOrientationPatient, "1\\0\\0\\0\\1\\0");
    ds->putAndInsertString(DCM_PixelSpacing, "0.5\\0.5");
    ds->putAndInsertString(DCM_RescaleSlope, "1");
    ds->putAndInsertString(DCM_RescaleIntercept, std::to_string(intercept).c_str());
    ds->putAndInsertString(DCM_PhotometricInterpretation, "MONOCHROME2");
    ds->putAndInsertUint16(DCM_SamplesPerPixel, 1);
    ds->putAndInsertUint16(DCM_Rows, 2);
    ds->putAndInsertUint16(DCM_Columns, 3);
    ds->putAndInsertUint16(DCM_BitsAllocated, 16);
    ds->putAndInsertUint16(DCM_BitsStored, 12);
    ds->putAndInsertUint16(DCM_HighBit, 11);
    ds->putAndInsertUint16(DCM_PixelRepresentation, 0);
    ds->putAndInsertUint16Array(DCM_PixelData, pixels.data(), pixels.size());
    const fs::path file = dir / ("slice" + std::to_string(index) + ".dcm");
    if (ff.saveFile(file.string().c_str(), EXS_LittleEndianExplicit).bad())
        throw std::runtime_error("cannot write " + file.string());
    return file.string();
}

}  // namespace

TEST(SeriesLoad, RescaleThatChangesBetweenFilesMakesAFloatVolume)
{
    const fs::path dir = test::scratchDir() / "mixed-rescale";
    fs::create_directories(dir);
    // Stored values with garbage above bit 11 (0xF000) that masking must drop.
    writeSlice(dir, 1, 0.0, -1024, {0xF000 | 1000, 1001, 1002, 1003, 1004, 1005});
    writeSlice(dir, 2, 2.5, -1024, {2000, 2001, 2002, 2003, 2004, 2005});
    writeSlice(dir, 3, 5.0, -2048, {3000, 3001, 3002, 3003, 3004, 3005});
    const auto scan = dicom::scanFolder(dir.string());
    ASSERT_EQ(scan.series.size(), 1u);
    EXPECT_EQ(scan.series[0].dims, (std::array<std::size_t, 3>{3, 2, 3}));
    EXPECT_DOUBLE_EQ(scan.series[0].geometry.spacing[2], 2.5);
    const dicom::LoadedSeries v = dicom::loadSeries(scan.series[0]);
    EXPECT_EQ(v.type, dicom::PixelType::Float32);
    EXPECT_DOUBLE_EQ(v.value(0), 1000 - 1024);
    EXPECT_DOUBLE_EQ(v.value(6 + 5), 2005 - 1024);
    EXPECT_DOUBLE_EQ(v.value(12 + 3), 3003 - 2048);

    // With one rescale the stored values stay 16-bit and the rescale is kept beside them.
    fs::remove(dir / "slice3.dcm");
    const auto two = dicom::loadSeries(dicom::scanFolder(dir.string()).series.at(0));
    EXPECT_EQ(two.type, dicom::PixelType::UInt16);
    EXPECT_EQ(two.voxels.size(), 2u * 6u * 2u);
    EXPECT_DOUBLE_EQ(two.value(0), 1000 - 1024);
    EXPECT_DOUBLE_EQ(two.intercept, -1024);
}

TEST(SeriesLoad, ExportWritesModalityValuesAtAnExactTypeWithTheGeometry)
{
    const fs::path dir = test::scratchDir() / "export";
    fs::create_directories(dir);
    writeSlice(dir, 1, 0.0, -1024, {0, 1, 2, 3, 4, 4095});
    writeSlice(dir, 2, 2.5, -1024, {2000, 2001, 2002, 2003, 2004, 2005});
    const auto scan = dicom::scanFolder(dir.string());
    ASSERT_EQ(scan.series.size(), 1u);
    const dicom::LoadedSeries stored = dicom::loadSeries(scan.series[0]);
    const dicom::LoadedSeries v = dicom::withModalityValues(stored);
    EXPECT_EQ(v.type, dicom::PixelType::Int16);  // -1024 .. 3071
    for (std::size_t i = 0; i < v.dims.count(); ++i)
        EXPECT_EQ(v.value(i), stored.value(i));
    const std::string file = (dir / "export.nii.gz").string();
    io::writeVolumeFile(file, {v.dims.x, v.dims.y, v.dims.z}, v.geometry, io::SampleType::Int16, 1, v.voxels.data());
    const io::ImageFile back = io::readImageFile(file);
    ASSERT_EQ(back.size, (std::array<std::size_t, 3>{3, 2, 2}));
    for (std::size_t i = 0; i < v.dims.count(); ++i)
        EXPECT_EQ(back.pixels[i], float(stored.value(i))) << i;
    for (int k = 0; k < 3; ++k) {
        EXPECT_NEAR(back.geometry.spacing[k], v.geometry.spacing[k], 1e-6);
        EXPECT_NEAR(back.geometry.origin[k], v.geometry.origin[k], 1e-6);
    }
    // A non-integer slope has no exact integer type: float.
    dicom::LoadedSeries scaled = stored;
    scaled.slope = 0.5;
    EXPECT_EQ(dicom::withModalityValues(scaled).type, dicom::PixelType::Float32);
    EXPECT_DOUBLE_EQ(dicom::withModalityValues(scaled).value(5), 4095 * 0.5 - 1024);
}
