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

/// LayerNorm of every column of a block [rows, cols] over its rows (channels-first maps: SAM's decoder keeps its
/// image tokens as [C, N]), of x = in + residual + rowBias (the last two optional): out[r, j] = (x[r, j] - mean_j) /
/// sqrt(var_j + eps) * gamma[r] + beta[r], var the biased variance, both by two passes. With plusOut, also
/// plusOut = out + plus (the next attention's keys with their positional encoding, while the values are in
/// registers). Every block has its own row stride; `out` may be `in`. `in` is left holding x.
struct ColumnNorm {
    float* in = nullptr;
    std::int64_t ldIn = 0;
    const float* residual = nullptr;
    std::int64_t ldResidual = 0;
    const float* rowBias = nullptr;
    const float* gamma = nullptr;
    const float* beta = nullptr;
    float eps = 1e-5f;
    float* out = nullptr;
    std::int64_t ldOut = 0;
    const float* plus = nullptr;
    std::int64_t ldPlus = 0;
    float* plusOut = nullptr;
    std::int64_t ldPlusOut = 0;
};
void layerNormColumns(const ColumnNorm& args, std::int64_t rows, std::int64_t cols);

/// In place on s [groups * groupRows, cols] (row stride ld): every column's softmax within each group of groupRows
/// consecutive rows, of s[r, j] + rowBias[r] (SAM's image-to-token attention kept as [heads * tokens, pixels]: each
/// pixel's softmax over a head's tokens).
void softmaxColumnGroups(float* s, std::int64_t ld, std::int64_t groups, std::int64_t groupRows, std::int64_t cols,
                         const float* rowBias);

/// outputs combinations of `count` rows (row stride ld) of `cols` values: out[o, j] = sum_r coeffs[o * count + r] *
/// rows[r, j], written with row stride ldOut. For products with a handful of output rows, where BLAS's blocking
/// does not pay (the mask decoder's hypernetwork: 3 masks from 32 channels).
void combineRows(const float* rows, std::int64_t ld, std::int64_t count, const float* coeffs, std::int64_t outputs,
                 std::int64_t cols, float* out, std::int64_t ldOut);

/// One block of columns of a row-wise softmax over many blocks (attention over more keys than fit in cache, as
/// flash attention does it): s [rows, cols] (row stride ld) holds the block's logits and is left with
/// exp(s - runMax'), runMax' = max(runMax, the block's maximum); runSum and the accumulated output rows `acc` [rows,
/// accCols] (row stride ldAcc) are rescaled by exp(runMax - runMax') and runSum adds the block's weights. Start with
/// runMax = -infinity, runSum = 0 and acc = 0; after the caller has added the block's weights times its values to acc
/// for every block, acc / runSum is the softmax-weighted output.
void softmaxRowsOnline(float* s, std::int64_t ld, std::int64_t rows, std::int64_t cols, float* runMax, float* runSum,
                       float* acc, std::int64_t ldAcc, std::int64_t accCols);

/// y [rows, o] = x [rows, k] W^T + bias for the weights packed as panels of 32 output columns, panel p holding
/// [k, 32] (W^T's columns 32 p .. 32 p + 31, zero past o), and `bias` padded to whole panels: output panels
/// [p0, p1) only (the caller shares them out among threads). For a few rows (the SAM decoder's prompt tokens: BLAS ran
/// a 7 x 256 x 2048 product at ~30 GFLOP/s, repacking the weights every call): eight rows at a time against a panel
/// read front to back; float products summed in runs of 32 inputs, the runs in double.
void smallLinear(const float* x, std::int64_t rows, std::int64_t k, const float* panels, const float* bias,
                 std::int64_t o, std::int64_t p0, std::int64_t p1, float* y);

/// SAM's dense positional encoding for the pixels [n0, n0 + cols) of an h x w grid (n = i w + j), as a block
/// [2 half, cols]: rows c < half sin(a_c(j) + b_c(i)), rows half + c cos(a_c(j) + b_c(i)), from the per-axis tables
/// sinA, cosA [half, w] and sinB, cosB [half, h] (sin(a + b) = sin a cos b + cos a sin b): the 4 MB map is never read.
void fourierBlock(const float* sinA, const float* cosA, const float* sinB, const float* cosB, std::int64_t half,
                  std::int64_t h, std::int64_t w, std::int64_t n0, std::int64_t cols, float* out);

inline std::int64_t paddedTokens(std::int64_t n) { return (n + 31) / 32 * 32; }
inline std::int64_t windowAttentionScratch(std::int64_t n, std::int64_t kd) { return (kd + 4) * paddedTokens(n); }

}  // namespace camsight::ml
