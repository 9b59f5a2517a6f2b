#pragma once
// Private to core/ml: hand-written convolution kernels on channels-last maps, where LibTorch's are slow (its depthwise
// convolutions run at a few GFLOP/s on NCHW maps) or need layouts the callers do not have.

// Std
#include <cstdint>

namespace camsight::ml {

/// Depthwise 3x3 convolution with zero padding 1 and stride 1 or 2 on a channels-last map of `height` x `width` x
/// `channels`: out[oy, ox, c] = bias[c] + sum over dy, dx of kernel[dy, dx, c] * in[oy * stride - 1 + dy,
/// ox * stride - 1 + dx, c]. Computes output rows [outBegin, outBegin + outCount), written from `out` on (each
/// (width - 1) / stride + 1 pixels wide). `in` holds the input rows from `inBegin` on: every row the requested outputs
/// read must be there. `kernel` is [3, 3, channels], `bias` [channels].
void depthwise3x3(const float* in, std::int64_t inBegin, std::int64_t height, std::int64_t width, std::int64_t channels,
                  const float* kernel, const float* bias, int stride, std::int64_t outBegin, std::int64_t outCount,
                  float* out);

}  // namespace camsight::ml
