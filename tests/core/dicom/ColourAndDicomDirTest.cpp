// Colour models (palette tables, plain and segmented; YBR_FULL_422; 16-bit RGB) and DICOMDIR file-sets, on files
// DCMTK writes here with known values (always run), then on the public files of ../shared/data (skipped without it).

// Local
#include "core/dicom/SeriesLoad.h"
#include "core/dicom/SeriesScan.h"
#include "core/io/ItkFormats.h"
#include "tests/support/SharedData.h"

// DCMTK
#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcddirif.h>
#include <dcmtk/dcmdata/dctk.h>

// Std
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>

using namespace camsight;
namespace fs = std::filesystem;

namespace {

struct TempDir {
    fs::path path;
    TempDir()
    {
        path = fs::temp_directory_path() / ("camsight-colour-" + std::to_string(::getpid()) + "-" +
                                            std::to_string(reinterpret_cast<std::uintptr_t>(this)));
        fs::create_directories(path);
    }
    ~TempDir() { fs::remove_all(path); }
};

// A secondary-capture image with what the General Purpose DICOMDIR profile needs; the caller adds the pixels.
DcmFileFormat secondaryCapture(int index, int rows, int columns, const char* photometric, int samples, int bits)
{
    DcmFileFormat ff;
    DcmDataset* ds = ff.getDataset();
    ds->putAndInsertString(DCM_SOPClassUID, UID_SecondaryCaptureImageStorage);
    ds->putAndInsertString(DCM_SOPInstanceUID, ("1.2.826.0.1.3680043.9.7.1." + std::to_string(index)).c_str());
    ds->putAndInsertString(DCM_StudyInstanceUID, "1.2.826.0.1.3680043.9.7.1");
    ds->putAndInsertString(DCM_SeriesInstanceUID, "1.2.826.0.1.3680043.9.7.1.1");
    ds->putAndInsertString(DCM_PatientName, "Colour^Test");
    ds->putAndInsertString(DCM_PatientID, "C1");
    ds->putAndInsertString(DCM_StudyDate, "20261122");
    ds->putAndInsertString(DCM_StudyTime, "120000");
    ds->putAndInsertString(DCM_StudyID, "1");
    ds->putAndInsertString(DCM_AccessionNumber, "A1");
    ds->putAndInsertString(DCM_Modality, "OT");
    ds->putAndInsertString(DCM_SeriesNumber, "1");
    ds->putAndInsertString(DCM_InstanceNumber, std::to_string(index).c_str());
    ds->putAndInsertString(DCM_ConversionType, "WSD");
    ds->putAndInsertString(DCM_PhotometricInterpretation, photometric);
    ds->putAndInsertUint16(DCM_SamplesPerPixel, Uint16(samples));
    if (samples == 3)
        ds->putAndInsertUint16(DCM_PlanarConfiguration, 0);
    ds->putAndInsertUint16(DCM_Rows, Uint16(rows));
    ds->putAndInsertUint16(DCM_Columns, Uint16(columns));
    ds->putAndInsertUint16(DCM_BitsAllocated, Uint16(bits));
    ds->putAndInsertUint16(DCM_BitsStored, Uint16(bits));
    ds->putAndInsertUint16(DCM_HighBit, Uint16(bits - 1));
    ds->putAndInsertUint16(DCM_PixelRepresentation, 0);
    return ff;
}

// LUT descriptors are US or SS by the pixel representation; written here as US, as most files have them.
void putDescriptor(DcmDataset* ds, const DcmTagKey& tag, const Uint16 (&values)[3])
{
    auto* e = new DcmUnsignedShort(DcmTag(tag, EVR_US));
    e->putUint16Array(values, 3);
    ds->insert(e, true);
}

void save(DcmFileFormat& ff, const fs::path& file)
{
    if (ff.saveFile(file.string().c_str(), EXS_LittleEndianExplicit).bad())
        throw std::runtime_error("cannot write " + file.string());
}

dicom::LoadedSeries loadOne(const fs::path& file)
{
    const auto scan = dicom::scanFiles({file.string()});
    if (scan.series.size() != 1)
        throw std::runtime_error(file.string() + ": not one series");
    return dicom::loadSeries(scan.series[0]);
}

std::array<int, 3> rgbAt(const dicom::LoadedSeries& v, std::size_t i)
{
    return {v.voxels[i * 3], v.voxels[i * 3 + 1], v.voxels[i * 3 + 2]};
}

}  // namespace

TEST(Colour, PaletteIndicesGoThroughTheTablesWithClampingAtBothEnds)
{
    TempDir dir;
    DcmFileFormat ff = secondaryCapture(1, 1, 6, "PALETTE COLOR", 1, 8);
    DcmDataset* ds = ff.getDataset();
    // 4 entries from index 10, 16 bits each: index 10 -> entry 0 ... 13 -> entry 3; below 10 the first, past 13 the last.
    const Uint16 desc[3] = {4, 10, 16};
    const Uint16 red[4] = {0x0000, 0x1200, 0xff00, 0x8080}, green[4] = {0x0100, 0x2200, 0x00ff, 0x4000},
                 blue[4] = {0xffff, 0x3300, 0x7f00, 0x0000};
    for (const auto& [d, t, lut] : {std::make_tuple(DCM_RedPaletteColorLookupTableDescriptor, DCM_RedPaletteColorLookupTableData, red),
                                     std::make_tuple(DCM_GreenPaletteColorLookupTableDescriptor, DCM_GreenPaletteColorLookupTableData, green),
                                     std::make_tuple(DCM_BluePaletteColorLookupTableDescriptor, DCM_BluePaletteColorLookupTableData, blue)}) {
        putDescriptor(ds, d, desc);
        ds->putAndInsertUint16Array(t, lut, 4);
    }
    const Uint8 pixels[6] = {0, 10, 11, 12, 13, 200};
    ds->putAndInsertUint8Array(DCM_PixelData, pixels, 6);
    save(ff, dir.path / "palette.dcm");
    const dicom::LoadedSeries v = loadOne(dir.path / "palette.dcm");
    ASSERT_EQ(v.type, dicom::PixelType::Rgb8);
    ASSERT_EQ(v.dims.count(), 6u);
    // 16-bit entries keep their high byte.
    const std::array<std::array<int, 3>, 6> expected{{{0x00, 0x01, 0xff}, {0x00, 0x01, 0xff}, {0x12, 0x22, 0x33},
                                                      {0xff, 0x00, 0x7f}, {0x80, 0x40, 0x00}, {0x80, 0x40, 0x00}}};
    for (std::size_t i = 0; i < 6; ++i)
        EXPECT_EQ(rgbAt(v, i), expected[i]) << "pixel " << i;
}

TEST(Colour, SegmentedPaletteExpandsDiscreteLinearAndIndirectSegments)
{
    TempDir dir;
    DcmFileFormat ff = secondaryCapture(2, 1, 10, "PALETTE COLOR", 1, 8);
    DcmDataset* ds = ff.getDataset();
    // Discrete {0, 100}; linear to 200 over 4 entries (125, 150, 175, 200); indirect: repeat the first segment
    // (word offset 0) -> {0, 100}; linear to 0 over 2 -> (50, 0). Ten entries in all, 8-bit... written as 16-bit
    // values << 8 so the high byte is the expected colour.
    const std::vector<Uint16> seg = {0, 2, 0 << 8, 100 << 8, 1, 4, 200 << 8, 2, 1, 0, 0, 1, 2, 0};
    const Uint16 desc[3] = {10, 0, 16};
    for (const auto& [d, t] : {std::make_pair(DCM_RedPaletteColorLookupTableDescriptor, DCM_SegmentedRedPaletteColorLookupTableData),
                               std::make_pair(DCM_GreenPaletteColorLookupTableDescriptor, DCM_SegmentedGreenPaletteColorLookupTableData),
                               std::make_pair(DCM_BluePaletteColorLookupTableDescriptor, DCM_SegmentedBluePaletteColorLookupTableData)}) {
        putDescriptor(ds, d, desc);
        ds->putAndInsertUint16Array(t, seg.data(), seg.size());
    }
    const Uint8 pixels[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    ds->putAndInsertUint8Array(DCM_PixelData, pixels, 10);
    save(ff, dir.path / "segmented.dcm");
    const dicom::LoadedSeries v = loadOne(dir.path / "segmented.dcm");
    const int expected[10] = {0, 100, 125, 150, 175, 200, 0, 100, 50, 0};
    for (std::size_t i = 0; i < 10; ++i)
        EXPECT_EQ(rgbAt(v, i), (std::array<int, 3>{expected[i], expected[i], expected[i]})) << "entry " << i;

    // A linear segment first has nothing to start from: one line naming the file and the table.
    const std::vector<Uint16> bad = {1, 4, 200};
    ds->putAndInsertUint16Array(DCM_SegmentedRedPaletteColorLookupTableData, bad.data(), bad.size());
    save(ff, dir.path / "bad.dcm");
    auto refused = [&](const char* file, const std::string& why) {
        try {
            loadOne(dir.path / file);
            ADD_FAILURE() << file << ": a malformed segmented table loaded";
        } catch (const std::runtime_error& e) {
            EXPECT_NE(std::string(e.what()).find(std::string(file) + ": red palette table: segmented LUT: " + why),
                      std::string::npos) << e.what();
        }
    };
    refused("bad.dcm", "a linear segment comes first");
    // Indirect segments that add nothing: 7 levels of 8 indirect segments, each copying the 8 of the next level, over
    // 8 empty discrete ones: 8^8 segment visits with the table never growing. Refused after a million.
    const Uint16 k = 8;
    std::vector<Uint16> loop = {0, 1, 5};
    for (int level = 0; level < 7; ++level) {
        const Uint16 next = Uint16(loop.size() + 4 * k);  // where the next level starts
        for (int j = 0; j < k; ++j)
            loop.insert(loop.end(), {2, k, next, 0});
    }
    for (int j = 0; j < k; ++j)
        loop.insert(loop.end(), {0, 0});
    ds->putAndInsertUint16Array(DCM_SegmentedRedPaletteColorLookupTableData, loop.data(), loop.size());
    save(ff, dir.path / "loop.dcm");
    refused("loop.dcm", "more than a million segments");
}

TEST(Colour, UncompressedYbrFull422SharesChromaBetweenPixelPairs)
{
    TempDir dir;
    DcmFileFormat ff = secondaryCapture(3, 1, 4, "YBR_FULL_422", 3, 8);
    // Y1 Y2 Cb Cr for pixels 0-1, then for 2-3.
    const Uint8 pixels[8] = {100, 200, 128, 128, 76, 150, 85, 255};
    ff.getDataset()->putAndInsertUint8Array(DCM_PixelData, pixels, 8);
    save(ff, dir.path / "ybr422.dcm");
    const dicom::LoadedSeries v = loadOne(dir.path / "ybr422.dcm");
    ASSERT_EQ(v.type, dicom::PixelType::Rgb8);
    auto rgb = [](double y, double cb, double cr) {
        auto c = [](double x) { return int(std::clamp(std::lround(x), 0L, 255L)); };
        return std::array<int, 3>{c(y + 1.402 * (cr - 128)), c(y - 0.344136 * (cb - 128) - 0.714136 * (cr - 128)),
                                  c(y + 1.772 * (cb - 128))};
    };
    EXPECT_EQ(rgbAt(v, 0), (std::array<int, 3>{100, 100, 100}));
    EXPECT_EQ(rgbAt(v, 1), (std::array<int, 3>{200, 200, 200}));
    EXPECT_EQ(rgbAt(v, 2), rgb(76, 85, 255));  // pure red in BT.601 full range: (254, 0, 0) after rounding
    EXPECT_EQ(rgbAt(v, 3), rgb(150, 85, 255));
    EXPECT_GE(rgbAt(v, 2)[0], 250);
}

TEST(Colour, SixteenBitRgbKeepsItsTopEightStoredBits)
{
    TempDir dir;
    DcmFileFormat ff = secondaryCapture(4, 1, 2, "RGB", 3, 16);
    ff.getDataset()->putAndInsertUint16(DCM_PlanarConfiguration, 1);  // RR GG BB
    const Uint16 pixels[6] = {0xffff, 0x0100, 0x8000, 0x7fff, 0x00ff, 0x1234};
    ff.getDataset()->putAndInsertUint16Array(DCM_PixelData, pixels, 6);
    save(ff, dir.path / "rgb16.dcm");
    const dicom::LoadedSeries v = loadOne(dir.path / "rgb16.dcm");
    ASSERT_EQ(v.type, dicom::PixelType::Rgb8);
    EXPECT_EQ(rgbAt(v, 0), (std::array<int, 3>{0xff, 0x80, 0x00}));
    EXPECT_EQ(rgbAt(v, 1), (std::array<int, 3>{0x01, 0x7f, 0x12}));
}

TEST(DicomDir, FileSetIsReadThroughItsDirectoryAndMissingFilesAreNamed)
{
    TempDir dir;
    fs::create_directories(dir.path / "IMAGES" / "SER1");
    std::vector<std::string> names;
    for (int i = 1; i <= 3; ++i) {
        DcmFileFormat ff = secondaryCapture(10 + i, 2, 2, "MONOCHROME2", 1, 8);
        const Uint8 pixels[4] = {Uint8(i), 0, 0, 0};
        ff.getDataset()->putAndInsertUint8Array(DCM_PixelData, pixels, 4);
        const std::string name = "IMAGES/SER1/IM" + std::to_string(i);
        ff.getDataset()->putAndInsertString(DCM_SOPClassUID, UID_SecondaryCaptureImageStorage);
        ff.getMetaInfo();
        save(ff, dir.path / name);
        names.push_back(name);
    }
    {
        DicomDirInterface ddir;
        ddir.enableInventMode(true);
        const std::string dirFile = (dir.path / "DICOMDIR").string();
        ASSERT_TRUE(ddir.createNewDicomDir(DicomDirInterface::AP_GeneralPurpose, dirFile.c_str(), "CAMSIGHT").good());
        for (const auto& n : names)
            ASSERT_TRUE(ddir.addDicomFile(n.c_str(), dir.path.string().c_str()).good()) << n;
        ASSERT_TRUE(ddir.writeDicomDir().good());
    }
    // The file-set's names may come back in another case (ISO 9660 media mounted on Linux).
    fs::rename(dir.path / "IMAGES" / "SER1" / "IM2", dir.path / "IMAGES" / "SER1" / "im2");
    auto r = dicom::scanFiles({(dir.path / "DICOMDIR").string()});
    ASSERT_EQ(r.series.size(), 1u);
    EXPECT_EQ(r.series[0].slices.size(), 3u);
    EXPECT_EQ(r.dicomdirs.size(), 1u);
    EXPECT_TRUE(r.errors.empty());
    // Scanning the folder finds each file once although the walk and the DICOMDIR both reach it.
    r = dicom::scanFolder(dir.path.string());
    ASSERT_EQ(r.series.size(), 1u);
    EXPECT_EQ(r.series[0].slices.size(), 3u);
    // A referenced file that is gone: the rest loads, the DICOMDIR names what is missing.
    fs::remove(dir.path / "IMAGES" / "SER1" / "IM3");
    r = dicom::scanFiles({(dir.path / "DICOMDIR").string()});
    ASSERT_EQ(r.series.size(), 1u);
    EXPECT_EQ(r.series[0].slices.size(), 2u);
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_EQ(r.errors[0].path, (dir.path / "DICOMDIR").string());
    EXPECT_EQ(r.errors[0].message, "references IMAGES/SER1/IM3, which is missing");
}

TEST(DicomDir, PublicFileSetVariantsAllReachTheSameImages)
{
    CAMSIGHT_REQUIRE_SHARED("data/dicom/edge/dicomdir_fileset");
    const fs::path root = test::sharedDir() / "data/dicom/edge/dicomdir_fileset";
    std::set<std::string> onDisk;
    for (const auto& s : dicom::scanFolder(root.string()).series)
        for (const auto& x : s.slices)
            onDisk.insert(fs::weakly_canonical(x.path).string());
    ASSERT_FALSE(onDisk.empty());
    for (const char* name : {"DICOMDIR", "DICOMDIR-bigEnd", "DICOMDIR-implicit", "DICOMDIR-nooffset", "DICOMDIR-reordered"}) {
        SCOPED_TRACE(name);
        const auto r = dicom::scanFiles({(root / name).string()});
        std::set<std::string> reached;
        for (const auto& s : r.series)
            for (const auto& x : s.slices)
                reached.insert(fs::weakly_canonical(x.path).string());
        EXPECT_EQ(reached, onDisk);
        EXPECT_TRUE(r.errors.empty()) << r.errors[0].message;
        std::printf("  %-20s %zu series, %zu images\n", name, r.series.size(), reached.size());
    }
    const auto empty = dicom::scanFiles({(root / "DICOMDIR-empty.dcm").string()});
    EXPECT_TRUE(empty.series.empty());
    EXPECT_EQ(empty.dicomdirs.size(), 1u);
}
