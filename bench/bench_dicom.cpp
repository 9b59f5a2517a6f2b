// DICOM series loading, side by side with ITK's GDCM series reader (bench/run_dicom.sh adds dcm2niix).
//
//   bench_dicom write DIR [SLICES] [SIZE]   writes a CT-like series with DCMTK (int16 stored, intercept -1024)
//   bench_dicom camsight DIR [THREADS]      scanFolder + loadSeries
//   bench_dicom itk DIR                     GDCMSeriesFileNames + ImageSeriesReader<int16> with GDCMImageIO
//
// Each reading mode runs once in its own process and prints one line: seconds, the voxels' own size, and the peak
// resident memory the load added (VmHWM after minus VmRSS before), so the memory columns compare like with like.

// Local
#include "core/dicom/SeriesLoad.h"
#include "core/dicom/SeriesScan.h"

// DCMTK
#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dctk.h>

// ITK
#include <itkGDCMImageIO.h>
#include <itkGDCMSeriesFileNames.h>
#include <itkImageSeriesReader.h>

// Std
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

using namespace camsight;
namespace fs = std::filesystem;

namespace {

// Resident and peak-resident memory of this process, in MB (Linux /proc).
double procStatus(const char* key)
{
    std::ifstream f("/proc/self/status");
    std::string line;
    while (std::getline(f, line))
        if (line.rfind(key, 0) == 0)
            return std::atof(line.c_str() + std::strlen(key)) / 1024.0;
    return 0;
}

int write(const fs::path& dir, int slices, int size)
{
    fs::create_directories(dir);
    std::mt19937 rng(7);
    std::normal_distribution<double> noise(0.0, 20.0);
    std::vector<Sint16> px(std::size_t(size) * std::size_t(size));
    char uid[100];
    const std::string study = dcmGenerateUniqueIdentifier(uid, SITE_STUDY_UID_ROOT);
    const std::string series = dcmGenerateUniqueIdentifier(uid, SITE_SERIES_UID_ROOT);
    for (int k = 0; k < slices; ++k) {
        // A body ellipse of soft tissue (+40 HU) in air (-1000 HU) with a bright spine, stored as HU + 1024.
        for (int y = 0; y < size; ++y)
            for (int x = 0; x < size; ++x) {
                const double ex = (x - size / 2.0) / (size * 0.42), ey = (y - size / 2.0) / (size * 0.3);
                const double sx = (x - size / 2.0) / (size * 0.04), sy = (y - size * 0.7) / (size * 0.04);
                double hu = ex * ex + ey * ey < 1 ? 40 : -1000;
                if (sx * sx + sy * sy < 1)
                    hu = 700;
                px[std::size_t(y) * size + x] = Sint16(std::lround(hu + 1024 + noise(rng)));
            }
        DcmFileFormat ff;
        DcmDataset* ds = ff.getDataset();
        ds->putAndInsertString(DCM_SOPClassUID, UID_CTImageStorage);
        ds->putAndInsertString(DCM_SOPInstanceUID, dcmGenerateUniqueIdentifier(uid, SITE_INSTANCE_UID_ROOT));
        ds->putAndInsertString(DCM_StudyInstanceUID, study.c_str());
        ds->putAndInsertString(DCM_SeriesInstanceUID, series.c_str());
        ds->putAndInsertString(DCM_Modality, "CT");
        ds->putAndInsertString(DCM_PatientName, "Bench^Phantom");
        ds->putAndInsertString(DCM_InstanceNumber, std::to_string(k + 1).c_str());
        ds->putAndInsertString(DCM_ImagePositionPatient, ("-250\\-250\\" + std::to_string(-k * 1.25)).c_str());
        ds->putAndInsertString(DCM_ImageOrientationPatient, "1\\0\\0\\0\\1\\0");
        ds->putAndInsertString(DCM_PixelSpacing, "0.9765625\\0.9765625");
        ds->putAndInsertString(DCM_SliceThickness, "1.25");
        ds->putAndInsertString(DCM_RescaleSlope, "1");
        ds->putAndInsertString(DCM_RescaleIntercept, "-1024");
        ds->putAndInsertString(DCM_WindowCenter, "40");
        ds->putAndInsertString(DCM_WindowWidth, "400");
        ds->putAndInsertString(DCM_PhotometricInterpretation, "MONOCHROME2");
        ds->putAndInsertUint16(DCM_SamplesPerPixel, 1);
        ds->putAndInsertUint16(DCM_Rows, Uint16(size));
        ds->putAndInsertUint16(DCM_Columns, Uint16(size));
        ds->putAndInsertUint16(DCM_BitsAllocated, 16);
        ds->putAndInsertUint16(DCM_BitsStored, 16);
        ds->putAndInsertUint16(DCM_HighBit, 15);
        ds->putAndInsertUint16(DCM_PixelRepresentation, 1);
        ds->putAndInsertUint16Array(DCM_PixelData, reinterpret_cast<const Uint16*>(px.data()), px.size());
        char name[32];
        std::snprintf(name, sizeof name, "CT%04d.dcm", (k * 7919) % slices);  // name order is not slice order
        if (ff.saveFile((dir / name).string().c_str(), EXS_LittleEndianExplicit).bad()) {
            std::fprintf(stderr, "cannot write %s\n", (dir / name).string().c_str());
            return 1;
        }
    }
    std::printf("wrote %d slices of %d x %d into %s\n", slices, size, size, dir.string().c_str());
    return 0;
}

void report(const char* who, double seconds, std::size_t voxelBytes, double rssBefore, const std::string& extra)
{
    const double peak = procStatus("VmHWM:");
    const double mb = double(voxelBytes) / (1024.0 * 1024.0);
    std::printf("%-9s %7.3f s   voxels %6.1f MB   peak added %6.1f MB (%+6.1f MB beyond the voxels)%s\n", who, seconds,
                mb, peak - rssBefore, peak - rssBefore - mb, extra.c_str());
}

}  // namespace

int main(int argc, char** argv)
{
    if (argc < 3) {
        std::fprintf(stderr, "usage: bench_dicom write|camsight|itk DIR [...]\n");
        return 2;
    }
    const std::string mode = argv[1];
    const fs::path dir = argv[2];
    if (mode == "write")
        return write(dir, argc > 3 ? std::atoi(argv[3]) : 300, argc > 4 ? std::atoi(argv[4]) : 512);
    const double before = procStatus("VmRSS:");
    const auto t0 = std::chrono::steady_clock::now();
    if (mode == "camsight") {
        dicom::ScanOptions so;
        dicom::LoadOptions lo;
        so.threads = lo.threads = argc > 3 ? std::atoi(argv[3]) : 0;
        const auto scan = dicom::scanFolder(dir.string(), so);
        if (scan.series.size() != 1) {
            std::fprintf(stderr, "expected one series, found %zu\n", scan.series.size());
            return 1;
        }
        const double scanned = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        const dicom::LoadedSeries v = dicom::loadSeries(scan.series[0], lo);
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        char extra[128];
        std::snprintf(extra, sizeof extra, "   %zux%zux%zu, value(0) %g; scan %.3f s", v.dims.x, v.dims.y, v.dims.z,
                      v.value(0), scanned);
        report("camsight", s, v.voxels.size(), before, extra);
        return 0;
    }
    if (mode == "itk") {
        using Image = itk::Image<std::int16_t, 3>;
        auto names = itk::GDCMSeriesFileNames::New();
        names->SetUseSeriesDetails(true);
        names->SetDirectory(dir.string());
        const auto uids = names->GetSeriesUIDs();
        if (uids.size() != 1) {
            std::fprintf(stderr, "ITK found %zu series\n", uids.size());
            return 1;
        }
        auto reader = itk::ImageSeriesReader<Image>::New();
        reader->SetImageIO(itk::GDCMImageIO::New());
        reader->SetFileNames(names->GetFileNames(uids[0]));
        reader->Update();
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        const auto size = reader->GetOutput()->GetLargestPossibleRegion().GetSize();
        char extra[96];
        std::snprintf(extra, sizeof extra, "   %zux%zux%zu, value(0) %d", std::size_t(size[0]), std::size_t(size[1]),
                      std::size_t(size[2]), int(reader->GetOutput()->GetBufferPointer()[0]));
        report("itk", s, std::size_t(size[0] * size[1] * size[2]) * 2, before, extra);
        return 0;
    }
    std::fprintf(stderr, "unknown mode %s\n", mode.c_str());
    return 2;
}
