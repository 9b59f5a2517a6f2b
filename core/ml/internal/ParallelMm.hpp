#pragma once
// Private to core/ml.

// LibTorch
#include <torch/torch.h>

namespace camsight::ml {

/// a [M, K] x b [K, N] (+ bias, broadcast to [M, N]) as blocks of rows (M >= N) or of columns, one block per intra-op
/// thread, each one BLAS call. Meant to run under SingleThreadedBlas: then medium products (a few hundred MFLOP, the
/// SAM decoder's) use every core without OpenBLAS's own pool contending with LibTorch's. Each block runs with the
/// caller's inference mode and with denormals flushed (both are per thread).
torch::Tensor parallelMm(const torch::Tensor& a, const torch::Tensor& b, const torch::Tensor& bias = {});

}  // namespace camsight::ml
