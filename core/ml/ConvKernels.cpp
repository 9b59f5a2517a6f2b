#include "core/ml/internal/ConvKernels.hpp"

// Std
#include <algorithm>

namespace camsight::ml {
namespace {

// 16 floats, loaded and stored unaligned: GCC's vector extension, lowered to AVX-512, AVX2 or SSE by the clone that
// runs (the auto-vectoriser kept the accumulators in memory and ran at ~3 GMAC/s).
typedef float Vec16 __attribute__((vector_size(64), aligned(4), may_alias));

// One output pixel over channels [c0, c0 + 16 * N): the taps (tapCount input pixels and their kernel rows) summed into
// N accumulators that stay in registers, then stored once.
template <int N>
inline void pixelBlock(const float* const* taps, const float* const* weights, int tapCount, const float* bias,
                       std::int64_t c0, float* out)
{
    Vec16 acc[N];
    for (int i = 0; i < N; ++i)
        acc[i] = *reinterpret_cast<const Vec16*>(bias + c0 + 16 * i);
    for (int t = 0; t < tapCount; ++t)
        for (int i = 0; i < N; ++i)
            acc[i] += *reinterpret_cast<const Vec16*>(taps[t] + c0 + 16 * i) *
                      *reinterpret_cast<const Vec16*>(weights[t] + c0 + 16 * i);
    for (int i = 0; i < N; ++i)
        *reinterpret_cast<Vec16*>(out + c0 + 16 * i) = acc[i];
}

}  // namespace

__attribute__((target_clones("avx512f", "avx2", "default"))) void depthwise3x3(
    const float* in, std::int64_t inBegin, std::int64_t height, std::int64_t width, std::int64_t channels,
    const float* kernel, const float* bias, int stride, std::int64_t outBegin, std::int64_t outCount, float* out)
{
    const std::int64_t outWidth = (width - 1) / stride + 1;
    const float* taps[9];
    const float* weights[9];
    for (std::int64_t oy = outBegin; oy < outBegin + outCount; ++oy) {
        for (std::int64_t ox = 0; ox < outWidth; ++ox) {
            int tapCount = 0;
            for (int dy = 0; dy < 3; ++dy) {
                const std::int64_t iy = oy * stride - 1 + dy;
                if (iy < 0 || iy >= height)
                    continue;
                for (int dx = 0; dx < 3; ++dx) {
                    const std::int64_t ix = ox * stride - 1 + dx;
                    if (ix < 0 || ix >= width)
                        continue;
                    taps[tapCount] = in + ((iy - inBegin) * width + ix) * channels;
                    weights[tapCount++] = kernel + (dy * 3 + dx) * channels;
                }
            }
            float* o = out + ((oy - outBegin) * outWidth + ox) * channels;
            std::int64_t c0 = 0;
            for (; c0 + 64 <= channels; c0 += 64)
                pixelBlock<4>(taps, weights, tapCount, bias, c0, o);
            for (; c0 + 16 <= channels; c0 += 16)
                pixelBlock<1>(taps, weights, tapCount, bias, c0, o);
            for (; c0 < channels; ++c0) {
                float acc = bias[c0];
                for (int t = 0; t < tapCount; ++t)
                    acc += taps[t][c0] * weights[t][c0];
                o[c0] = acc;
            }
        }
    }
}

}  // namespace camsight::ml
