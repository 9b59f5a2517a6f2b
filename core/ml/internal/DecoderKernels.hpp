#pragma once
// Private to core/ml: hand-written kernels of the SAM mask decoder (SamDecoder.cpp), which keeps its image tokens
// channels-first, [C, N], and works on them in blocks of columns: LayerNorm and softmax down the columns, the online
// softmax of attention over many blocks, small products with a handful of rows, and the dense positional encoding
// from per-axis tables. Compiled -O3 with AVX-512 / AVX2 / baseline clones (DecoderKernels.cpp).

// Std
#include <cstdint>

namespace camsight::ml {

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

/// `outputs` combinations of GELU(rows + rowBias) for `count` rows (row stride ld) of `cols` values:
/// out[o, j] = sum_r coeffs[o * count + r] * gelu(rows[r, j] + rowBias[r]), written with row stride ldOut, the GELU
/// taken as it is summed. For products with a handful of output rows, where BLAS's blocking does not pay (SAM's
/// hypernetwork reducing the last upscaling convolution's 32 channels to 3 masks: the activations are read once and
/// never written).
void combineGeluRows(const float* rows, std::int64_t ld, std::int64_t count, const float* rowBias, const float* coeffs,
                     std::int64_t outputs, std::int64_t cols, float* out, std::int64_t ldOut);

/// out [m, n] (row stride ldOut) += a b^T for a [m, k] and b [n, k] (row strides lda, ldb): every row of a dotted with
/// every row of b. For a few rows of a (the SAM decoder's attention weights of a handful of tokens over a block of
/// pixels, times the block's [C, pixels] values): BLAS ran this 7 x 256 x 256 product at ~12 GFLOP/s. Six rows of a
/// and four of b at a time, 24 vector accumulators along k, each reduced once at the end.
void accumulateDots(const float* a, std::int64_t lda, std::int64_t m, const float* b, std::int64_t ldb, std::int64_t n,
                    std::int64_t k, float* out, std::int64_t ldOut);

/// out [m, n] (row stride ldOut) += a b for a [m, k] and b [k, n] (row strides lda, ldb), along the rows of b (the
/// SAM decoder's prompt-token side: a head's few queries times that head's slice of a weight matrix).
void accumulateProducts(const float* a, std::int64_t lda, std::int64_t m, const float* b, std::int64_t ldb,
                        std::int64_t k, std::int64_t n, float* out, std::int64_t ldOut);

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

}  // namespace camsight::ml
