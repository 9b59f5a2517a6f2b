#pragma once
// Private to core/ml: hand-written kernels for work where LibTorch is slow: depthwise convolutions (its own run at a
// few GFLOP/s on NCHW maps) and attention over small windows (a dozen LibTorch calls per window and head cost more
// than the arithmetic).

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

/// A 3x3 convolution with stride 2 and zero padding 1 from an NCHW image to channels-last output (an encoder's stem:
/// few input channels, so the input values are broadcast against vectors of output channels): out[oy, ox, o] =
/// bias[o] + sum over c, dy, dx of weight[((c * 3 + dy) * 3 + dx) * outChannels + o] * in[c, 2 oy - 1 + dy,
/// 2 ox - 1 + dx]. Computes output rows [outBegin, outBegin + outCount), written from `out` on.
void conv3x3Stride2(const float* in, std::int64_t channels, std::int64_t height, std::int64_t width, const float* weight,
                    const float* bias, std::int64_t outChannels, std::int64_t outBegin, std::int64_t outCount, float* out);

/// Softmax attention of one window and head: for every query i with out[i] != nullptr,
/// out[i][c] = sum_j p_ij v_j[c], p_i = softmax_j(scale * q_i . k_j + bias[i * paddedN + j]), over n tokens whose
/// q, k and v (kd values each) start at rows[j], rows[j] + kOffset and rows[j] + vOffset (TinyViT's per-head qkv
/// layout: kd and 2 kd; the ViT's [3, heads, kd] layout: heads kd and 2 heads kd).
/// paddedN = paddedTokens(n) (n rounded up to 32), and bias rows carry -infinity past n. `scratch` holds at least
/// windowAttentionScratch(n, kd) floats.
void windowAttention(const float* const* rows, std::int64_t n, std::int64_t kd, std::int64_t kOffset,
                     std::int64_t vOffset, float scale, const float* bias, float* const* out, float* scratch);

/// GELU in its exact (erf) form, in place: 0.5 x (1 + erf(x / sqrt 2)), erf by Abramowitz & Stegun 7.1.28 (absolute
/// error below 3e-7; LibTorch's vectorised kernel uses 7.1.26, 1.5e-7, with an exp), about a fifth of the cost of
/// LibTorch's kernel on AVX-512.
void geluInPlace(float* data, std::int64_t count);

/// The softmax of SAM's global attention over rows of logits [rows, h * w] (keys on an h x w grid), with the
/// decomposed relative positions added first: l[r, kh * w + kw] += relH[r * h + kh] + relW[r * w + kw]. Each row is
/// left as its unnormalised weights exp(l - max) and norm[r] = 1 / their sum: the caller scales the (rows x head
/// dim) product with the values instead of the (rows x h w) weights. Two passes over a row instead of LibTorch's two
/// bias adds and three softmax passes.
void relativeSoftmaxRows(float* logits, std::int64_t rows, std::int64_t h, std::int64_t w, const float* relH,
                         const float* relW, float* norm);

inline std::int64_t paddedTokens(std::int64_t n) { return (n + 31) / 32 * 32; }
inline std::int64_t windowAttentionScratch(std::int64_t n, std::int64_t kd) { return (kd + 4) * paddedTokens(n); }

}  // namespace camsight::ml
