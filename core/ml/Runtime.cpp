#include "core/ml/Runtime.h"

// Local
#include "core/ml/internal/BlasThreads.hpp"

// LibTorch
#include <ATen/Parallel.h>
#include <torch/cuda.h>
#include <torch/version.h>

// Std
#include <dlfcn.h>
#if defined(__SSE__) || defined(__x86_64__)
#include <xmmintrin.h>
#endif
#include <link.h>
#include <malloc.h>

#include <climits>
#include <string>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

namespace camsight::ml {
namespace {

std::string resolve(const char* path)
{
    char buf[PATH_MAX];
    if (path && *path && realpath(path, buf))
        return buf;
    return path ? path : "";
}

int collectBlas(dl_phdr_info* info, size_t, void* data)
{
    auto* out = static_cast<std::vector<std::string>*>(data);
    const std::string name = info->dlpi_name ? info->dlpi_name : "";
    if (name.find("blas") != std::string::npos || name.find("libmkl") != std::string::npos)
        out->push_back(resolve(info->dlpi_name));
    return 0;
}

void detectBlas(RuntimeInfo& r)
{
    std::vector<std::string> libs;
    dl_iterate_phdr(collectBlas, &libs);
    for (const auto& l : libs)
        r.blasLibrary += (r.blasLibrary.empty() ? "" : ";") + l;
    // The exported symbols tell which implementation answers sgemm_, whatever the file is called.
    using ConfigFn = char* (*)();
    if (auto cfg = reinterpret_cast<ConfigFn>(dlsym(RTLD_DEFAULT, "openblas_get_config"))) {
        r.blasName = "OpenBLAS";
        r.blasConfig = cfg();
    } else if (dlsym(RTLD_DEFAULT, "mkl_get_max_threads")) {
        r.blasName = "MKL";
    } else if (dlsym(RTLD_DEFAULT, "bli_info_get_version_str")) {
        r.blasName = "BLIS";
    } else if (r.blasLibrary.find("/blas/libblas") != std::string::npos) {
        r.blasName = "reference BLAS";
    } else {
        r.blasName = "unknown";
    }
}

}  // namespace

RuntimeInfo initRuntime(int threads)
{
    static std::once_flag once;
    std::call_once(once, [threads] {
        int n = threads > 0 ? threads : static_cast<int>(std::thread::hardware_concurrency());
        if (const char* env = std::getenv("CAMSIGHT_THREADS"))
            n = std::max(1, std::atoi(env));
        at::set_num_threads(std::max(1, n));
        // Tensors of a few to a few tens of MB are made and freed at every layer of the encoders. By default glibc
        // hands each one out as a fresh mmap() and unmaps it on free, so every layer pays page faults and the
        // kernel's zeroing again (measured here: ~5 s of system time in a 28 s SAM benchmark, TinyViT's encoder
        // 1.5-1.7 s instead of 1.1-1.3 s). Keep such blocks in the heap and trim it rarely; releaseMemory() gives
        // the memory back after a large job. CAMSIGHT_MALLOC=default leaves glibc's policy alone.
        const char* policy = std::getenv("CAMSIGHT_MALLOC");
        if (!policy || std::string(policy) != "default") {
            mallopt(M_MMAP_MAX, 0);  // the main thread's heap serves every size (other threads' arenas still map
                                     // what exceeds their 64 MB heaps)
            mallopt(M_TRIM_THRESHOLD, 512 << 20);
            mallopt(M_TOP_PAD, 64 << 20);
        }
    });
    return runtimeInfo();
}

void releaseMemory()
{
    // The next encode of the same model needs the same blocks again: faulting them back in cost vit_t ~30 ms of its
    // ~0.42 s. Keep up to 1 GiB of free heap (vit_t's and vit_b's working sets) and give back the rest of larger
    // jobs (vit_h's encoder frees several GB).
#if defined(__GLIBC__) && __GLIBC_PREREQ(2, 33)
    if (mallinfo2().fordblks <= (std::size_t(1) << 30))
        return;
#endif
    malloc_trim(0);
}

RuntimeInfo runtimeInfo()
{
    RuntimeInfo r;
    r.torchVersion = TORCH_VERSION;
    r.intraOpThreads = at::get_num_threads();
    r.interOpThreads = at::get_num_interop_threads();
    r.cudaAvailable = torch::cuda::is_available();
    r.cudaDevices = r.cudaAvailable ? static_cast<int>(torch::cuda::device_count()) : 0;
    detectBlas(r);
    return r;
}

}  // namespace camsight::ml


namespace camsight::ml {
namespace {
using GetThreadsFn = int (*)();
using SetThreadsFn = void (*)(int);
}  // namespace

SingleThreadedBlas::SingleThreadedBlas()
{
    static const auto get = reinterpret_cast<GetThreadsFn>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
    static const auto set = reinterpret_cast<SetThreadsFn>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
    if (get && set) {
        m_previous = get();
        if (m_previous > 1)
            set(1);
        else
            m_previous = -1;
    }
}

SingleThreadedBlas::~SingleThreadedBlas()
{
    static const auto set = reinterpret_cast<SetThreadsFn>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
    if (m_previous > 1 && set)
        set(m_previous);
}

#if defined(__SSE__) || defined(__x86_64__)
FlushDenormals::FlushDenormals() : m_previous(_mm_getcsr())
{
    _mm_setcsr(m_previous | 0x8040u);  // FTZ (bit 15) and DAZ (bit 6)
}

FlushDenormals::~FlushDenormals() { _mm_setcsr(m_previous); }
#else
FlushDenormals::FlushDenormals() = default;
FlushDenormals::~FlushDenormals() = default;
#endif

}  // namespace camsight::ml
