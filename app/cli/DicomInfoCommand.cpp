// camsight-cli dicom-info: what a folder (or a DICOMDIR) of DICOM files holds, as JSON; dicom-export: one series as
// NIfTI (full build: needs DCMTK and ITK).

// Local
#include "app/cli/Command.h"
#include "app/cli/Json.h"
#include "core/dicom/SeriesLoad.h"
#include "core/dicom/SeriesScan.h"
#include "core/io/ItkFormats.h"

// Std
#include <filesystem>
#include <iostream>

namespace camsight::cli {
namespace {

// A folder is scanned recursively; a file (a DICOMDIR, or one image) is scanned as it is.
dicom::ScanResult scan(const std::string& path)
{
    std::error_code ec;
    if (std::filesystem::is_regular_file(path, ec))
        return dicom::scanFiles({path});
    return dicom::scanFolder(path);
}

int run(const Args& args)
{
    if (args.positional().size() != 1)
        throw UsageError("give one folder or DICOMDIR: camsight-cli dicom-info DIR");
    const dicom::ScanResult r = scan(args.positional()[0]);
    std::cout << "{\"folder\": " << jsonString(args.positional()[0]) << ", \"files\": " << r.filesExamined
              << ",\n \"series\": [";
    for (std::size_t i = 0; i < r.series.size(); ++i) {
        const auto& s = r.series[i];
        const auto& g = s.geometry;
        const double dir[9] = {g.direction[0], g.direction[3], g.direction[6], g.direction[1], g.direction[4],
                               g.direction[7], g.direction[2], g.direction[5], g.direction[8]};
        std::cout << (i ? ",\n  " : "\n  ") << "{\"uid\": " << jsonString(s.seriesUid) << ", \"stack\": " << s.stackIndex
                  << ", \"study_uid\": " << jsonString(s.studyUid) << ", \"modality\": " << jsonString(s.modality)
                  << ", \"description\": " << jsonString(s.description) << ", \"series_number\": " << s.seriesNumber
                  << ", \"patient\": " << jsonString(s.patientName) << ", \"dimensions\": [" << s.dims[0] << ", "
                  << s.dims[1] << ", " << s.dims[2] << "], \"spacing\": " << jsonNumbers(g.spacing)
                  << ", \"origin\": " << jsonNumbers(g.origin)
                  << ", \"direction\": " << jsonNumbers(dir) << ", \"files\": " << s.slices.size() << ", \"warnings\": [";
        for (std::size_t w = 0; w < s.warnings.size(); ++w)
            std::cout << (w ? ", " : "") << jsonString(s.warnings[w]);
        std::cout << "]}";
    }
    std::cout << "],\n \"errors\": [";
    for (std::size_t i = 0; i < r.errors.size(); ++i)
        std::cout << (i ? ",\n  " : "\n  ") << "{\"file\": " << jsonString(r.errors[i].path)
                  << ", \"error\": " << jsonString(r.errors[i].message) << "}";
    std::cout << "],\n \"not_images\": " << r.skipped.size() << ", \"not_dicom\": " << r.notDicom.size() << "}\n";
    return 0;
}

io::SampleType sampleType(dicom::PixelType t)
{
    switch (t) {
    case dicom::PixelType::UInt8: case dicom::PixelType::Rgb8: return io::SampleType::UInt8;
    case dicom::PixelType::Int8: return io::SampleType::Int8;
    case dicom::PixelType::UInt16: return io::SampleType::UInt16;
    case dicom::PixelType::Int16: return io::SampleType::Int16;
    case dicom::PixelType::UInt32: return io::SampleType::UInt32;
    case dicom::PixelType::Int32: return io::SampleType::Int32;
    case dicom::PixelType::Float32: return io::SampleType::Float32;
    }
    return io::SampleType::Float32;
}

int runExport(const Args& args)
{
    if (args.positional().size() != 1)
        throw UsageError("give one folder or DICOMDIR: camsight-cli dicom-export DIR --series UID --out vol.nii.gz");
    const std::string uid = args.value("series"), out = args.value("out");
    const int stack = args.has("stack") ? std::stoi(args.value("stack")) : -1;
    const dicom::ScanResult r = scan(args.positional()[0]);
    std::vector<const dicom::SeriesInfo*> found;
    for (const auto& s : r.series)
        if (s.seriesUid == uid && (stack < 0 || s.stackIndex == stack))
            found.push_back(&s);
    if (found.empty())
        throw std::runtime_error(args.positional()[0] + ": no series " + uid + (stack >= 0 ? " stack " + std::to_string(stack) : std::string()) +
                                 " (camsight-cli dicom-info lists them)");
    if (found.size() > 1)
        throw UsageError("series " + uid + " was split into " + std::to_string(found.size()) +
                         " stacks (size or orientation differs): choose one with --stack N");
    const dicom::LoadedSeries v = dicom::withModalityValues(dicom::loadSeries(*found[0]));
    io::writeVolumeFile(out, {v.dims.x, v.dims.y, v.dims.z}, v.geometry, sampleType(v.type),
                        v.type == dicom::PixelType::Rgb8 ? 3 : 1, v.voxels.data());
    for (const auto& e : v.errors)
        std::cerr << "camsight-cli dicom-export: " << e.path << ": " << e.message << " (its slice is left at the minimum)\n";
    std::cout << "{\"out\": " << jsonString(out) << ", \"dimensions\": [" << v.dims.x << ", " << v.dims.y << ", "
              << v.dims.z << "], \"files\": " << found[0]->slices.size() << ", \"unreadable_files\": " << v.errors.size()
              << "}\n";
    return v.errors.empty() ? 0 : 3;
}

}  // namespace

Command dicomExportCommand()
{
    return {"dicom-export",
            "one series as NIfTI (or NRRD, MetaImage by extension) with its geometry, modality values applied",
            "DIR",
            {{"series", true, "SeriesInstanceUID (camsight-cli dicom-info lists them)", "UID"},
             {"stack", true, "which stack, when the series was split by size or orientation", "N"},
             {"out", true, "output file: .nii, .nii.gz, .nrrd, .mha", "F"}},
            runExport};
}

Command dicomInfoCommand()
{
    return {"dicom-info",
            "DICOM series in a folder (recursive) as JSON: geometry, warnings, per-file errors",
            "DIR",
            {},
            run};
}

}  // namespace camsight::cli
