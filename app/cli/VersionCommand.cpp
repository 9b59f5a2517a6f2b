// Local
#include "app/cli/Command.h"
#include "app/cli/Json.h"
#include "core/ml/Runtime.h"
#ifdef CAMSIGHT_FULL_BUILD
#include "core/dicom/DicomLibrary.h"
#include "core/io/ItkFormats.h"
#include "ui/render/RenderInfo.h"
// Qt
#include <QtGlobal>
#endif

// Std
#include <iostream>
#include <utility>
#include <vector>

namespace camsight::cli {
namespace {

std::vector<std::pair<std::string, std::string>> libraryVersions()
{
    const ml::RuntimeInfo rt = ml::runtimeInfo();
    std::vector<std::pair<std::string, std::string>> v{{"camsight", CAMSIGHT_VERSION}};
#ifdef CAMSIGHT_FULL_BUILD
    v.emplace_back("qt", qVersion());
    v.emplace_back("vtk", render::vtkVersionString());
    v.emplace_back("dcmtk", dicom::dcmtkVersion());
    v.emplace_back("itk", io::itkVersion());
#else
    v.emplace_back("qt", "not built (engine-only)");
    v.emplace_back("vtk", "not built (engine-only)");
    v.emplace_back("dcmtk", "not built (engine-only)");
    v.emplace_back("itk", "not built (engine-only)");
#endif
    v.emplace_back("libtorch", rt.torchVersion);
    v.emplace_back("intra_op_threads", std::to_string(rt.intraOpThreads));
    v.emplace_back("inter_op_threads", std::to_string(rt.interOpThreads));
    v.emplace_back("blas", rt.blasName);
    v.emplace_back("blas_library", rt.blasLibrary);
    v.emplace_back("blas_config", rt.blasConfig);
    v.emplace_back("cuda", rt.cudaAvailable ? std::to_string(rt.cudaDevices) + " device(s)" : "not available");
    return v;
}

int run(const Args& args)
{
    const auto v = libraryVersions();
    if (args.has("json")) {
        std::cout << "{";
        for (std::size_t i = 0; i < v.size(); ++i)
            std::cout << (i ? ", " : "") << jsonString(v[i].first) << ": " << jsonString(v[i].second);
        std::cout << "}\n";
    } else {
        for (const auto& [k, val] : v)
            std::cout << k << ": " << val << "\n";
    }
    return 0;
}

}  // namespace

Command versionCommand()
{
    return {"version",
            "print the versions of CamSight and its libraries, LibTorch's thread count and the BLAS in use",
            "[--json]",
            {{"json", false, "machine-readable output"}},
            run};
}

}  // namespace camsight::cli
