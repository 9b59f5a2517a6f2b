#pragma once
// Private to core/ml: work split across LibTorch's intra-op (OpenMP) threads.

// Local
#include "core/ml/internal/BlasThreads.hpp"

// LibTorch
#include <ATen/Parallel.h>
#include <torch/torch.h>

namespace camsight::ml {

/// Runs fn(first, last) over [0, count) in chunks on the intra-op threads, with OpenBLAS held to one thread (each
/// task's products are its own; OpenBLAS's pool beside the OpenMP threads only contends) and, in every thread, the
/// caller's InferenceMode and flushed denormals: both are per-thread state that at::parallel_for does not carry.
/// (at::parallel_for is header code: it is parallel only where compiled with OpenMP, which camsight_torch carries.)
template <class Fn>
void parallelTasks(std::int64_t count, const Fn& fn)
{
    const bool inference = c10::InferenceMode::is_enabled();
    SingleThreadedBlas single;
    at::parallel_for(0, count, 1, [&](std::int64_t first, std::int64_t last) {
        c10::InferenceMode mode(inference);
        FlushDenormals flush;
        fn(first, last);
    });
}

/// residual + x [M, K] weight^T (+ bias [N]) for weight [N, K], in blocks of at most 1024 rows on the intra-op
/// threads, each block one single-threaded BLAS call: the residual and bias enter the block's accumulator while it
/// is in cache. `bias` and `residual` ([M, N]) may be undefined. For large products inside work that runs on the
/// OpenMP threads anyway (the SAM encoders): the two thread pools spinning beside each other on two cores cost more
/// than the products' own threading gains (vit_t 0.77 -> 0.60 s with either pool's spinning cut short).
torch::Tensor parallelLinear(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                             const torch::Tensor& residual = {});

}  // namespace camsight::ml
