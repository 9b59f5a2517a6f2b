#include "core/ml/internal/Kernels.hpp"

// Local
#include "core/ml/internal/Vec16.hpp"

// Std
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

namespace camsight::ml {

using simd::expNonPositive;
using simd::gelu16;
using simd::Vec16;

namespace {

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

// Four query rows at a time: p_r . v over n tokens for V Vec16s of channels from c0, eight independent accumulator
// chains (one chain per row would wait on the multiply-add latency).
template <int V>
__attribute__((always_inline)) inline void weightedValues(const float* const* rows, std::int64_t n,
                                                         std::int64_t vOffset, std::int64_t c0, const float* prob,
                                                         std::int64_t np, const float* norm, float* const* out)
{
    Vec16 acc[4][V] = {};
    for (std::int64_t j = 0; j < n; ++j) {
        Vec16 v[V];
        for (int k = 0; k < V; ++k)
            v[k] = *reinterpret_cast<const Vec16*>(rows[j] + vOffset + c0 + 16 * k);
        for (int r = 0; r < 4; ++r)
            for (int k = 0; k < V; ++k)
                acc[r][k] += prob[r * np + j] * v[k];
    }
    for (int r = 0; r < 4; ++r)
        for (int k = 0; k < V; ++k)
            *reinterpret_cast<Vec16*>(out[r] + c0 + 16 * k) = acc[r][k] * norm[r];
}

}  // namespace

__attribute__((target_clones("avx512f", "avx2", "default"))) void windowAttention(
    const float* const* rows, std::int64_t n, std::int64_t kd, std::int64_t kOffset, std::int64_t vOffset, float scale,
    const float* bias, float* const* out, float* scratch)
{
    const std::int64_t np = paddedTokens(n);
    // k transposed, zero past n: kt[d][j] = k_j[d]; then the probabilities of four query rows.
    float* kt = scratch;
    float* prob = scratch + kd * np;
    for (std::int64_t d = 0; d < kd; ++d) {
        for (std::int64_t j = 0; j < n; ++j)
            kt[d * np + j] = rows[j][kOffset + d];
        for (std::int64_t j = n; j < np; ++j)
            kt[d * np + j] = 0.0f;
    }
    // The queries whose output is wanted, four at a time (a short last group repeats its last row).
    std::int64_t wanted[4];
    std::int64_t next = 0;
    while (true) {
        int count = 0;
        for (; next < n && count < 4; ++next)
            if (out[next] != nullptr)
                wanted[count++] = next;
        if (count == 0)
            break;
        for (int r = count; r < 4; ++r)
            wanted[r] = wanted[count - 1];
        const float* q[4];
        float* o[4];
        for (int r = 0; r < 4; ++r) {
            q[r] = rows[wanted[r]];
            o[r] = out[wanted[r]];
        }
        // logits = scale * q . k + bias, 32 keys of four rows at a time
        for (std::int64_t b = 0; b < np; b += 32) {
            Vec16 acc[4][2] = {};
            for (std::int64_t d = 0; d < kd; ++d) {
                const Vec16 k0 = *reinterpret_cast<const Vec16*>(kt + d * np + b);
                const Vec16 k1 = *reinterpret_cast<const Vec16*>(kt + d * np + b + 16);
                for (int r = 0; r < 4; ++r) {
                    acc[r][0] += q[r][d] * k0;
                    acc[r][1] += q[r][d] * k1;
                }
            }
            for (int r = 0; r < 4; ++r) {
                const float* biasRow = bias + wanted[r] * np + b;
                *reinterpret_cast<Vec16*>(prob + r * np + b) = acc[r][0] * scale + *reinterpret_cast<const Vec16*>(biasRow);
                *reinterpret_cast<Vec16*>(prob + r * np + b + 16) =
                    acc[r][1] * scale + *reinterpret_cast<const Vec16*>(biasRow + 16);
            }
        }
        // Softmax rows, reduced 16 lanes at a time (a scalar maximum and sum are chains of dependent operations that
        // took longer than the products). Past n the logits are -infinity; their weights are set to 0 after exp.
        float norm[4];
        for (int r = 0; r < 4; ++r) {
            float* row = prob + r * np;
            Vec16 top = *reinterpret_cast<const Vec16*>(row);
            for (std::int64_t b = 16; b < np; b += 16) {
                const Vec16 v = *reinterpret_cast<const Vec16*>(row + b);
                top = v > top ? v : top;
            }
            float maximum = top[0];
            for (int k = 1; k < 16; ++k)
                maximum = top[k] > maximum ? top[k] : maximum;
            for (std::int64_t b = 0; b < np; b += 16) {
                *reinterpret_cast<Vec16*>(row + b) -= maximum;
                expNonPositive(row + b);
            }
            for (std::int64_t j = n; j < np; ++j)
                row[j] = 0.0f;
            Vec16 total{};
            for (std::int64_t b = 0; b < np; b += 16)
                total += *reinterpret_cast<const Vec16*>(row + b);
            float sum = 0.0f;
            for (int k = 0; k < 16; ++k)
                sum += total[k];
            norm[r] = 1.0f / sum;
        }
        std::int64_t c0 = 0;
        for (; c0 + 32 <= kd; c0 += 32)
            weightedValues<2>(rows, n, vOffset, c0, prob, np, norm, o);
        for (; c0 + 16 <= kd; c0 += 16)
            weightedValues<1>(rows, n, vOffset, c0, prob, np, norm, o);
        for (; c0 < kd; ++c0) {
            for (int r = 0; r < 4; ++r) {
                float acc = 0.0f;
                for (std::int64_t j = 0; j < n; ++j)
                    acc += prob[r * np + j] * rows[j][vOffset + c0];
                o[r][c0] = acc * norm[r];
            }
        }
    }
}

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

__attribute__((target_clones("avx512f", "avx2", "default"))) void geluInPlace(float* data, std::int64_t count)
{
    std::int64_t i = 0;
    for (; i + 16 <= count; i += 16)
        gelu16(data + i);
    if (i < count) {
        float rest[16] = {};
        std::copy(data + i, data + count, rest);
        gelu16(rest);
        std::copy(rest, rest + (count - i), data + i);
    }
}

namespace {

// One output pixel of conv3x3Stride2: V vectors of output channels from o0.
template <int V>
__attribute__((always_inline)) inline void stemPixel(const float* in, std::int64_t channels, std::int64_t height,
                                                     std::int64_t width, const float* weight, const float* bias,
                                                     std::int64_t outChannels, std::int64_t o0, std::int64_t oy,
                                                     std::int64_t ox, float* out)
{
    Vec16 acc[V];
    for (int k = 0; k < V; ++k)
        acc[k] = *reinterpret_cast<const Vec16*>(bias + o0 + 16 * k);
    for (std::int64_t c = 0; c < channels; ++c) {
        for (int dy = 0; dy < 3; ++dy) {
            const std::int64_t iy = 2 * oy - 1 + dy;
            if (iy < 0 || iy >= height)
                continue;
            for (int dx = 0; dx < 3; ++dx) {
                const std::int64_t ix = 2 * ox - 1 + dx;
                if (ix < 0 || ix >= width)
                    continue;
                const float v = in[(c * height + iy) * width + ix];
                const float* wrow = weight + ((c * 3 + dy) * 3 + dx) * outChannels + o0;
                for (int k = 0; k < V; ++k)
                    acc[k] += v * *reinterpret_cast<const Vec16*>(wrow + 16 * k);
            }
        }
    }
    for (int k = 0; k < V; ++k)
        *reinterpret_cast<Vec16*>(out + o0 + 16 * k) = acc[k];
}

}  // namespace

__attribute__((target_clones("avx512f", "avx2", "default"))) void conv3x3Stride2(
    const float* in, std::int64_t channels, std::int64_t height, std::int64_t width, const float* weight,
    const float* bias, std::int64_t outChannels, std::int64_t outBegin, std::int64_t outCount, float* out)
{
    const std::int64_t outWidth = (width - 1) / 2 + 1;
    for (std::int64_t oy = outBegin; oy < outBegin + outCount; ++oy) {
        for (std::int64_t ox = 0; ox < outWidth; ++ox) {
            float* o = out + ((oy - outBegin) * outWidth + ox) * outChannels;
            std::int64_t o0 = 0;
            for (; o0 + 32 <= outChannels; o0 += 32)
                stemPixel<2>(in, channels, height, width, weight, bias, outChannels, o0, oy, ox, o);
            for (; o0 + 16 <= outChannels; o0 += 16)
                stemPixel<1>(in, channels, height, width, weight, bias, outChannels, o0, oy, ox, o);
            for (; o0 < outChannels; ++o0) {
                float acc = bias[o0];
                for (std::int64_t c = 0; c < channels; ++c)
                    for (int dy = 0; dy < 3; ++dy)
                        for (int dx = 0; dx < 3; ++dx) {
                            const std::int64_t iy = 2 * oy - 1 + dy, ix = 2 * ox - 1 + dx;
                            if (iy >= 0 && iy < height && ix >= 0 && ix < width)
                                acc += in[(c * height + iy) * width + ix] * weight[((c * 3 + dy) * 3 + dx) * outChannels + o0];
                        }
                o[o0] = acc;
            }
        }
    }
}

__attribute__((target_clones("avx512f", "avx2", "default"))) void relativeSoftmaxRows(
    float* logits, std::int64_t rows, std::int64_t h, std::int64_t w, const float* relH, const float* relW, float* norm)
{
    const std::int64_t n = h * w, vectorEnd = n / 16 * 16;
    for (std::int64_t r = 0; r < rows; ++r) {
        float* row = logits + r * n;
        const float* rh = relH + r * h;
        const float* rw = relW + r * w;
        // Bias and running maximum in one pass.
        Vec16 top = Vec16{} - std::numeric_limits<float>::infinity();
        float maximum = -std::numeric_limits<float>::infinity();
        for (std::int64_t kh = 0; kh < h; ++kh) {
            float* line = row + kh * w;
            std::int64_t kw = 0;
            for (; kw + 16 <= w; kw += 16) {
                Vec16& v = *reinterpret_cast<Vec16*>(line + kw);
                v += rh[kh] + *reinterpret_cast<const Vec16*>(rw + kw);
                top = v > top ? v : top;
            }
            for (; kw < w; ++kw) {
                line[kw] += rh[kh] + rw[kw];
                maximum = line[kw] > maximum ? line[kw] : maximum;
            }
        }
        for (int k = 0; k < 16; ++k)
            maximum = top[k] > maximum ? top[k] : maximum;
        // Weights exp(l - max) and their sum in a second pass.
        Vec16 total{};
        std::int64_t j = 0;
        for (; j < vectorEnd; j += 16) {
            *reinterpret_cast<Vec16*>(row + j) -= maximum;
            expNonPositive(row + j);
            total += *reinterpret_cast<const Vec16*>(row + j);
        }
        float sum = 0.0f;
        for (; j < n; ++j) {
            row[j] = std::exp(row[j] - maximum);
            sum += row[j];
        }
        for (int k = 0; k < 16; ++k)
            sum += total[k];
        norm[r] = 1.0f / sum;
    }
}

}  // namespace camsight::ml
