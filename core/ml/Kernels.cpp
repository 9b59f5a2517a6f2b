#include "core/ml/internal/Kernels.hpp"

// Std
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

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

// exp on 16 lanes for arguments <= 0 (softmax after subtracting the maximum): x = n ln 2 + r with |r| <= ln 2 / 2,
// e^r by Cephes' degree-7 polynomial (relative error ~1e-7), 2^n put into the exponent bits. Arguments below -87 give
// e^-87 (still a normal float) rather than denormals; those weights are below float resolution in any sum with the
// maximum's weight 1.
// In place on 16 floats (through memory, so no vector crosses a function boundary of the default clone's ABI).
__attribute__((always_inline)) inline void expNonPositive(float* values)
{
    Vec16 x = *reinterpret_cast<const Vec16*>(values);
    typedef std::int32_t Int16 __attribute__((vector_size(64)));
    const Vec16 lowest = Vec16{} - 87.0f;
    x = x < lowest ? lowest : x;
    const Vec16 magic = Vec16{} + 12582912.0f;  // 1.5 * 2^23: adding and subtracting it rounds to the nearest integer
    const Vec16 n = (x * 1.44269504088896341f + magic) - magic;
    const Vec16 r = x - n * 0.693359375f + n * 2.12194440e-4f;
    Vec16 p = Vec16{} + 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    const Int16 bits = (__builtin_convertvector(n, Int16) + 127) << 23;
    Vec16 scaleBy;
    __builtin_memcpy(&scaleBy, &bits, sizeof scaleBy);
    *reinterpret_cast<Vec16*>(values) = p * scaleBy;
}

// GELU (erf form) of 16 floats in place: 0.5 x (1 + erf(x / sqrt 2)), with 1 - erf(z) = 1 / p(z)^16 for z >= 0,
// p a degree-6 polynomial (Abramowitz & Stegun 7.1.28, |error| <= 3e-7): no exp, so about half the work of the
// 7.1.26 form LibTorch uses. For negative x, 1 + erf is taken as that quotient directly (no cancellation); for large
// |x| the power overflows to infinity and the quotient is exactly 0.
__attribute__((always_inline)) inline void gelu16(float* values)
{
    const Vec16 x = *reinterpret_cast<const Vec16*>(values);
    const Vec16 zero{};
    const Vec16 z = (x < zero ? -x : x) * 0.70710678118654752f;
    Vec16 p = z * 0.0000430638f + 0.0002765672f;
    p = p * z + 0.0001520143f;
    p = p * z + 0.0092705272f;
    p = p * z + 0.0422820123f;
    p = p * z + 0.0705230784f;
    p = p * z + 1.0f;
    p = p * p;  // ^2
    p = p * p;  // ^4
    p = p * p;  // ^8
    p = p * p;  // ^16
    const Vec16 tail = 1.0f / p;  // 1 - erf(z)
    *reinterpret_cast<Vec16*>(values) = x * 0.5f * (x < zero ? tail : 2.0f - tail);
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

namespace camsight::ml {
namespace {

// layerNormColumns over V vectors of 16 columns from j: V independent accumulator chains per pass. The first pass
// leaves in + residual + rowBias in `in`; the others read that alone.
template <int V>
__attribute__((always_inline)) inline void layerNormStrip(const ColumnNorm& a, std::int64_t rows, std::int64_t j)
{
    Vec16 mean[V] = {}, inv[V] = {};
    if (a.residual || a.rowBias) {
        for (std::int64_t r = 0; r < rows; ++r) {
            const float b = a.rowBias ? a.rowBias[r] : 0.0f;
            for (int k = 0; k < V; ++k) {
                Vec16& x = *reinterpret_cast<Vec16*>(a.in + r * a.ldIn + j + 16 * k);
                if (a.residual)
                    x += *reinterpret_cast<const Vec16*>(a.residual + r * a.ldResidual + j + 16 * k);
                x += b;
                mean[k] += x;
            }
        }
    } else {
        for (std::int64_t r = 0; r < rows; ++r)
            for (int k = 0; k < V; ++k)
                mean[k] += *reinterpret_cast<const Vec16*>(a.in + r * a.ldIn + j + 16 * k);
    }
    for (int k = 0; k < V; ++k)
        mean[k] *= 1.0f / float(rows);
    for (std::int64_t r = 0; r < rows; ++r)
        for (int k = 0; k < V; ++k) {
            const Vec16 d = *reinterpret_cast<const Vec16*>(a.in + r * a.ldIn + j + 16 * k) - mean[k];
            inv[k] += d * d;
        }
    for (int k = 0; k < V; ++k)
        for (int l = 0; l < 16; ++l)
            inv[k][l] = 1.0f / std::sqrt(inv[k][l] / float(rows) + a.eps);
    for (std::int64_t r = 0; r < rows; ++r) {
        const float g = a.gamma[r], b = a.beta[r];
        for (int k = 0; k < V; ++k) {
            const Vec16 y = (*reinterpret_cast<const Vec16*>(a.in + r * a.ldIn + j + 16 * k) - mean[k]) * inv[k] * g + b;
            *reinterpret_cast<Vec16*>(a.out + r * a.ldOut + j + 16 * k) = y;
            if (a.plusOut)
                *reinterpret_cast<Vec16*>(a.plusOut + r * a.ldPlusOut + j + 16 * k) =
                    y + *reinterpret_cast<const Vec16*>(a.plus + r * a.ldPlus + j + 16 * k);
        }
    }
}

// softmaxColumnGroups on 16 columns from j.
__attribute__((always_inline)) inline void softmaxGroupsStrip(float* s, std::int64_t ld, std::int64_t groups,
                                                             std::int64_t groupRows, const float* rowBias,
                                                             std::int64_t j)
{
    for (std::int64_t g = 0; g < groups; ++g) {
        float* first = s + g * groupRows * ld + j;
        const float* bias = rowBias + g * groupRows;
        Vec16 top = Vec16{} - std::numeric_limits<float>::infinity();
        for (std::int64_t r = 0; r < groupRows; ++r) {
            Vec16& v = *reinterpret_cast<Vec16*>(first + r * ld);
            v += bias[r];
            top = v > top ? v : top;
        }
        Vec16 total{};
        for (std::int64_t r = 0; r < groupRows; ++r) {
            *reinterpret_cast<Vec16*>(first + r * ld) -= top;
            expNonPositive(first + r * ld);
            total += *reinterpret_cast<const Vec16*>(first + r * ld);
        }
        const Vec16 norm = 1.0f / total;
        for (std::int64_t r = 0; r < groupRows; ++r)
            *reinterpret_cast<Vec16*>(first + r * ld) *= norm;
    }
}

}  // namespace

__attribute__((target_clones("avx512f", "avx2", "default"))) void layerNormColumns(const ColumnNorm& a,
                                                                                   std::int64_t rows, std::int64_t cols)
{
    std::int64_t j = 0;
    for (; j + 32 <= cols; j += 32)
        layerNormStrip<2>(a, rows, j);
    for (; j + 16 <= cols; j += 16)
        layerNormStrip<1>(a, rows, j);
    for (; j < cols; ++j) {
        for (std::int64_t r = 0; r < rows; ++r)
            a.in[r * a.ldIn + j] += (a.residual ? a.residual[r * a.ldResidual + j] : 0.0f) + (a.rowBias ? a.rowBias[r] : 0.0f);
        const auto input = [&](std::int64_t r) { return a.in[r * a.ldIn + j]; };
        float mean = 0.0f, var = 0.0f;
        for (std::int64_t r = 0; r < rows; ++r)
            mean += input(r);
        mean /= float(rows);
        for (std::int64_t r = 0; r < rows; ++r)
            var += (input(r) - mean) * (input(r) - mean);
        const float inv = 1.0f / std::sqrt(var / float(rows) + a.eps);
        for (std::int64_t r = 0; r < rows; ++r) {
            const float y = (input(r) - mean) * inv * a.gamma[r] + a.beta[r];
            a.out[r * a.ldOut + j] = y;
            if (a.plusOut)
                a.plusOut[r * a.ldPlusOut + j] = y + a.plus[r * a.ldPlus + j];
        }
    }
}

__attribute__((target_clones("avx512f", "avx2", "default"))) void softmaxColumnGroups(
    float* s, std::int64_t ld, std::int64_t groups, std::int64_t groupRows, std::int64_t cols, const float* rowBias)
{
    std::int64_t j = 0;
    for (; j + 16 <= cols; j += 16)
        softmaxGroupsStrip(s, ld, groups, groupRows, rowBias, j);
    for (; j < cols; ++j)
        for (std::int64_t g = 0; g < groups; ++g) {
            float* first = s + g * groupRows * ld + j;
            const float* bias = rowBias + g * groupRows;
            float top = -std::numeric_limits<float>::infinity();
            for (std::int64_t r = 0; r < groupRows; ++r) {
                first[r * ld] += bias[r];
                top = std::max(top, first[r * ld]);
            }
            float total = 0.0f;
            for (std::int64_t r = 0; r < groupRows; ++r) {
                first[r * ld] = std::exp(first[r * ld] - top);
                total += first[r * ld];
            }
            for (std::int64_t r = 0; r < groupRows; ++r)
                first[r * ld] /= total;
        }
}

__attribute__((target_clones("avx512f", "avx2", "default"))) void combineRows(
    const float* rows, std::int64_t ld, std::int64_t count, const float* coeffs, std::int64_t outputs,
    std::int64_t cols, float* out, std::int64_t ldOut)
{
    for (std::int64_t o = 0; o < outputs; ++o) {
        const float* c = coeffs + o * count;
        float* dst = out + o * ldOut;
        std::int64_t j = 0;
        for (; j + 32 <= cols; j += 32) {
            Vec16 a0{}, a1{};
            for (std::int64_t r = 0; r < count; ++r) {
                a0 += c[r] * *reinterpret_cast<const Vec16*>(rows + r * ld + j);
                a1 += c[r] * *reinterpret_cast<const Vec16*>(rows + r * ld + j + 16);
            }
            *reinterpret_cast<Vec16*>(dst + j) = a0;
            *reinterpret_cast<Vec16*>(dst + j + 16) = a1;
        }
        for (; j < cols; ++j) {
            float a = 0.0f;
            for (std::int64_t r = 0; r < count; ++r)
                a += c[r] * rows[r * ld + j];
            dst[j] = a;
        }
    }
}

}  // namespace camsight::ml

namespace camsight::ml {

__attribute__((target_clones("avx512f", "avx2", "default"))) void softmaxRowsOnline(
    float* s, std::int64_t ld, std::int64_t rows, std::int64_t cols, float* runMax, float* runSum, float* acc,
    std::int64_t ldAcc, std::int64_t accCols)
{
    const std::int64_t vectorEnd = cols / 16 * 16;
    for (std::int64_t r = 0; r < rows; ++r) {
        float* row = s + r * ld;
        Vec16 top = Vec16{} - std::numeric_limits<float>::infinity();
        for (std::int64_t j = 0; j < vectorEnd; j += 16) {
            const Vec16 v = *reinterpret_cast<const Vec16*>(row + j);
            top = v > top ? v : top;
        }
        float maximum = runMax[r];
        for (int k = 0; k < 16; ++k)
            maximum = top[k] > maximum ? top[k] : maximum;
        for (std::int64_t j = vectorEnd; j < cols; ++j)
            maximum = row[j] > maximum ? row[j] : maximum;
        Vec16 total{};
        for (std::int64_t j = 0; j < vectorEnd; j += 16) {
            *reinterpret_cast<Vec16*>(row + j) -= maximum;
            expNonPositive(row + j);
            total += *reinterpret_cast<const Vec16*>(row + j);
        }
        float sum = 0.0f;
        for (int k = 0; k < 16; ++k)
            sum += total[k];
        for (std::int64_t j = vectorEnd; j < cols; ++j) {
            row[j] = std::exp(row[j] - maximum);
            sum += row[j];
        }
        const float factor = std::exp(runMax[r] - maximum);  // 0 for the first block (runMax -infinity)
        if (factor != 1.0f) {
            float* a = acc + r * ldAcc;
            for (std::int64_t j = 0; j < accCols; ++j)
                a[j] *= factor;
        }
        runSum[r] = runSum[r] * factor + sum;
        runMax[r] = maximum;
    }
}

}  // namespace camsight::ml

namespace camsight::ml {
namespace {

// smallLinear's panel `panel` (32 columns) for up to 8 rows (missing rows repeat the last one; their results are
// dropped), into y[r][0..width). Float products summed in runs of 32 inputs, the runs' sums added in double: the
// decoder's prompt tokens go through ~20 of these products in a row, and on sharp (random-weight) attention one
// float sum over up to 2,048 inputs moved the logits measurably (bench_sam's float64 comparison).
typedef float Vec8f __attribute__((vector_size(32), aligned(4), may_alias));
typedef double Vec8d __attribute__((vector_size(64), aligned(8), may_alias));

__attribute__((always_inline)) inline void smallLinearPanel(const float* const* x, int rows, std::int64_t k,
                                                           const float* panel, const float* bias, int width,
                                                           float* const* y)
{
    Vec8d total[8][4] = {};
    for (std::int64_t i0 = 0; i0 < k; i0 += 32) {
        const std::int64_t i1 = std::min<std::int64_t>(k, i0 + 32);
        Vec16 acc[8][2] = {};
        for (std::int64_t i = i0; i < i1; ++i) {
            const Vec16 w0 = *reinterpret_cast<const Vec16*>(panel + i * 32);
            const Vec16 w1 = *reinterpret_cast<const Vec16*>(panel + i * 32 + 16);
            for (int r = 0; r < 8; ++r) {
                acc[r][0] += x[r][i] * w0;
                acc[r][1] += x[r][i] * w1;
            }
        }
        for (int r = 0; r < 8; ++r)
            for (int v = 0; v < 2; ++v) {
                float part[16];
                *reinterpret_cast<Vec16*>(part) = acc[r][v];
                total[r][2 * v] += __builtin_convertvector(*reinterpret_cast<const Vec8f*>(part), Vec8d);
                total[r][2 * v + 1] += __builtin_convertvector(*reinterpret_cast<const Vec8f*>(part + 8), Vec8d);
            }
    }
    for (int r = 0; r < rows; ++r) {
        float out[32];
        for (int v = 0; v < 4; ++v)
            *reinterpret_cast<Vec8f*>(out + 8 * v) = __builtin_convertvector(
                total[r][v] + __builtin_convertvector(*reinterpret_cast<const Vec8f*>(bias + 8 * v), Vec8d), Vec8f);
        std::copy(out, out + width, y[r]);
    }
}

}  // namespace

__attribute__((target_clones("avx512f", "avx2", "default"))) void smallLinear(
    const float* x, std::int64_t rows, std::int64_t k, const float* panels, const float* bias, std::int64_t o,
    std::int64_t p0, std::int64_t p1, float* y)
{
    for (std::int64_t r0 = 0; r0 < rows; r0 += 8) {
        const int n = int(std::min<std::int64_t>(8, rows - r0));
        const float* xr[8];
        float* yr[8];
        for (std::int64_t p = p0; p < p1; ++p) {
            for (int r = 0; r < 8; ++r) {
                xr[r] = x + (r0 + std::min(r, n - 1)) * k;
                yr[r] = y + (r0 + std::min(r, n - 1)) * o + 32 * p;
            }
            smallLinearPanel(xr, n, k, panels + p * k * 32, bias + 32 * p, int(std::min<std::int64_t>(32, o - 32 * p)), yr);
        }
    }
}

}  // namespace camsight::ml

namespace camsight::ml {

__attribute__((target_clones("avx512f", "avx2", "default"))) void fourierBlock(
    const float* sinA, const float* cosA, const float* sinB, const float* cosB, std::int64_t half, std::int64_t h,
    std::int64_t w, std::int64_t n0, std::int64_t cols, float* out)
{
    for (std::int64_t c = 0; c < half; ++c) {
        float* __restrict s = out + c * cols;
        float* __restrict co = out + (half + c) * cols;
        for (std::int64_t n = n0; n < n0 + cols;) {
            const std::int64_t i = n / w, j = n % w, run = std::min(w - j, n0 + cols - n);
            const float sb = sinB[c * h + i], cb = cosB[c * h + i];
            const float* __restrict sa = sinA + c * w + j;
            const float* __restrict ca = cosA + c * w + j;
            float* __restrict so = s + (n - n0);
            float* __restrict cout = co + (n - n0);
            for (std::int64_t t = 0; t < run; ++t) {
                so[t] = sa[t] * cb + ca[t] * sb;
                cout[t] = ca[t] * cb - sa[t] * sb;
            }
            n += run;
        }
    }
}

}  // namespace camsight::ml
