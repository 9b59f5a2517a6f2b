// camsight-cli dicom-info: what a folder of DICOM files holds, as JSON (full build: needs DCMTK).

// Local
#include "app/cli/Command.h"
#include "app/cli/Json.h"
#include "core/dicom/SeriesScan.h"

// Std
#include <iostream>

namespace camsight::cli {
namespace {

int run(const Args& args)
{
    if (args.positional().size() != 1)
        throw UsageError("give one folder: camsight-cli dicom-info DIR");
    const dicom::ScanResult r = dicom::scanFolder(args.positional()[0]);
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

}  // namespace

Command dicomInfoCommand()
{
    return {"dicom-info",
            "DICOM series in a folder (recursive) as JSON: geometry, warnings, per-file errors",
            "DIR",
            {},
            run};
}

}  // namespace camsight::cli
