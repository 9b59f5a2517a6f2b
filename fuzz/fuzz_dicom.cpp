// libFuzzer entry: one input = one file given to CamSight as the user would (scan, then load every series found).
// Everything must end in a result or a clean exception: no crash, hang, leak or undefined behaviour.

// Local
#include "core/dicom/SeriesLoad.h"
#include "core/dicom/SeriesScan.h"

// Std
#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <unistd.h>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    static const std::string path = "/dev/shm/camsight-fuzz-" + std::to_string(getpid()) + ".dcm";
    if (std::FILE* f = std::fopen(path.c_str(), "wb")) {
        std::fwrite(data, 1, size, f);
        std::fclose(f);
    } else {
        return 0;
    }
    camsight::dicom::ScanOptions scanOptions;
    scanOptions.threads = 1;
    camsight::dicom::LoadOptions loadOptions;
    loadOptions.threads = 1;
    try {
        const auto scan = camsight::dicom::scanFiles({path}, scanOptions);
        for (const auto& series : scan.series) {
            try {
                (void)camsight::dicom::loadSeries(series, loadOptions);
            } catch (const std::exception&) {
            }
        }
    } catch (const std::exception&) {
    }
    return 0;
}
