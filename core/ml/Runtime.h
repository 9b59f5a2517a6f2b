#pragma once
// Std
#include <string>

namespace camsight::ml {

/// What the machine-learning runtime actually uses in this process.
struct RuntimeInfo {
    std::string torchVersion;    ///< LibTorch version, e.g. "1.13.1"
    int intraOpThreads = 0;      ///< threads LibTorch uses inside one operator
    int interOpThreads = 0;
    std::string blasLibrary;     ///< resolved path of the BLAS shared object loaded in this process
    std::string blasName;        ///< "OpenBLAS", "reference BLAS", "MKL", "BLIS" or "unknown"
    std::string blasConfig;      ///< OpenBLAS' own configuration string where available
    bool cudaAvailable = false;
    int cudaDevices = 0;
};

/// Sets LibTorch's intra-op thread count (0 = every hardware thread) and the heap policy for tensor memory (freed
/// blocks are kept for reuse instead of being unmapped; CAMSIGHT_MALLOC=default opts out), and returns the info. Call
/// once at startup, before any other LibTorch work; later calls only report.
RuntimeInfo initRuntime(int threads = 0);

/// Returns freed heap memory to the system (the runtime keeps freed tensor memory for reuse while a model runs; call
/// this after a large job, such as an image encoding, to bring the process back down).
void releaseMemory();

/// Reports without changing anything.
RuntimeInfo runtimeInfo();

}  // namespace camsight::ml
