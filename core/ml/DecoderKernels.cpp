#include "core/ml/internal/DecoderKernels.hpp"

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
            const Vec16 x = *reinterpret_cast<const Vec16*>(a.in + r * a.ldIn + j + 16 * k);
            const Vec16 y = (x - mean[k]) * inv[k] * g + b;
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
    for (; j + 128 <= cols; j += 128)
        layerNormStrip<8>(a, rows, j);
    for (; j + 32 <= cols; j += 32)
        layerNormStrip<2>(a, rows, j);
    for (; j + 16 <= cols; j += 16)
        layerNormStrip<1>(a, rows, j);
    for (; j < cols; ++j) {
        for (std::int64_t r = 0; r < rows; ++r)
            a.in[r * a.ldIn + j] +=
                (a.residual ? a.residual[r * a.ldResidual + j] : 0.0f) + (a.rowBias ? a.rowBias[r] : 0.0f);
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

namespace {

// combineGeluRows for N outputs (1 .. 4) over V vectors of 16 columns from j: V independent GELU chains per row.
template <int N, int V>
__attribute__((always_inline)) inline void combineGeluStrip(const float* rows, std::int64_t ld, std::int64_t count,
                                                           const float* rowBias, const float* coeffs,
                                                           std::int64_t o0, std::int64_t j, float* out,
                                                           std::int64_t ldOut)
{
    Vec16 acc[N][V] = {};
    for (std::int64_t r = 0; r < count; ++r) {
        alignas(64) float v[V][16];
        for (int k = 0; k < V; ++k) {
            *reinterpret_cast<Vec16*>(v[k]) = *reinterpret_cast<const Vec16*>(rows + r * ld + j + 16 * k) + rowBias[r];
            gelu16(v[k]);
        }
        for (int o = 0; o < N; ++o) {
            const float c = coeffs[(o0 + o) * count + r];
            for (int k = 0; k < V; ++k)
                acc[o][k] += c * *reinterpret_cast<const Vec16*>(v[k]);
        }
    }
    for (int o = 0; o < N; ++o)
        for (int k = 0; k < V; ++k)
            *reinterpret_cast<Vec16*>(out + (o0 + o) * ldOut + j + 16 * k) = acc[o][k];
}

template <int V>
__attribute__((always_inline)) inline void combineGeluColumns(const float* rows, std::int64_t ld, std::int64_t count,
                                                             const float* rowBias, const float* coeffs,
                                                             std::int64_t outputs, std::int64_t j, float* out,
                                                             std::int64_t ldOut)
{
    for (std::int64_t o0 = 0; o0 < outputs; o0 += 4) {
        switch (std::min<std::int64_t>(4, outputs - o0)) {
        case 1: combineGeluStrip<1, V>(rows, ld, count, rowBias, coeffs, o0, j, out, ldOut); break;
        case 2: combineGeluStrip<2, V>(rows, ld, count, rowBias, coeffs, o0, j, out, ldOut); break;
        case 3: combineGeluStrip<3, V>(rows, ld, count, rowBias, coeffs, o0, j, out, ldOut); break;
        default: combineGeluStrip<4, V>(rows, ld, count, rowBias, coeffs, o0, j, out, ldOut); break;
        }
    }
}

}  // namespace

__attribute__((target_clones("avx512f", "avx2", "default"))) void combineGeluRows(
    const float* rows, std::int64_t ld, std::int64_t count, const float* rowBias, const float* coeffs,
    std::int64_t outputs, std::int64_t cols, float* out, std::int64_t ldOut)
{
    // Up to four outputs at a time over 32 (then 16) columns: each activation vector made once for all of them, two
    // independent GELU chains in flight (one chain a row waited on the polynomial's latency).
    std::int64_t j = 0;
    for (; j + 32 <= cols; j += 32)
        combineGeluColumns<2>(rows, ld, count, rowBias, coeffs, outputs, j, out, ldOut);
    for (; j + 16 <= cols; j += 16)
        combineGeluColumns<1>(rows, ld, count, rowBias, coeffs, outputs, j, out, ldOut);
    if (j < cols) {  // the last columns through a zero-padded vector
        const std::int64_t rest = cols - j;
        for (std::int64_t o = 0; o < outputs; ++o)
            std::fill(out + o * ldOut + j, out + o * ldOut + cols, 0.0f);
        for (std::int64_t r = 0; r < count; ++r) {
            alignas(64) float v[16] = {};
            for (std::int64_t i = 0; i < rest; ++i)
                v[i] = rows[r * ld + j + i] + rowBias[r];
            gelu16(v);
            for (std::int64_t o = 0; o < outputs; ++o)
                for (std::int64_t i = 0; i < rest; ++i)
                    out[o * ldOut + j + i] += coeffs[o * count + r] * v[i];
        }
    }
}

namespace {

// The sum of a vector's 16 lanes, by halving.
__attribute__((always_inline)) inline float laneSum(Vec16 v)
{
    typedef float Vec8 __attribute__((vector_size(32), aligned(4)));
    typedef float Vec4 __attribute__((vector_size(16), aligned(4)));
    const Vec8 h = __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7) +
                   __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15);
    const Vec4 q = __builtin_shufflevector(h, h, 0, 1, 2, 3) + __builtin_shufflevector(h, h, 4, 5, 6, 7);
    return (q[0] + q[2]) + (q[1] + q[3]);
}

// accumulateDots for R rows of a and C rows of b from (r0, c0): R x C accumulators over the vector part of k.
template <int R, int C>
__attribute__((always_inline)) inline void dotsTile(const float* a, std::int64_t lda, const float* b, std::int64_t ldb,
                                                   std::int64_t k, float* out, std::int64_t ldOut)
{
    Vec16 acc[R][C] = {};
    const std::int64_t vectorEnd = k / 16 * 16;
    for (std::int64_t j = 0; j < vectorEnd; j += 16) {
        Vec16 bv[C];
        for (int q = 0; q < C; ++q)
            bv[q] = *reinterpret_cast<const Vec16*>(b + q * ldb + j);
        for (int r = 0; r < R; ++r) {
            const Vec16 av = *reinterpret_cast<const Vec16*>(a + r * lda + j);
            for (int q = 0; q < C; ++q)
                acc[r][q] += av * bv[q];
        }
    }
    for (int r = 0; r < R; ++r)
        for (int q = 0; q < C; ++q) {
            float tail = 0.0f;
            for (std::int64_t j = vectorEnd; j < k; ++j)
                tail += a[r * lda + j] * b[q * ldb + j];
            out[r * ldOut + q] += laneSum(acc[r][q]) + tail;
        }
}

template <int R>
__attribute__((always_inline)) inline void dotsRows(const float* a, std::int64_t lda, const float* b, std::int64_t ldb,
                                                   std::int64_t n, std::int64_t k, float* out, std::int64_t ldOut)
{
    std::int64_t c = 0;
    for (; c + 4 <= n; c += 4)
        dotsTile<R, 4>(a, lda, b + c * ldb, ldb, k, out + c, ldOut);
    for (; c < n; ++c)
        dotsTile<R, 1>(a, lda, b + c * ldb, ldb, k, out + c, ldOut);
}

}  // namespace

__attribute__((target_clones("avx512f", "avx2", "default"))) void accumulateDots(
    const float* a, std::int64_t lda, std::int64_t m, const float* b, std::int64_t ldb, std::int64_t n, std::int64_t k,
    float* out, std::int64_t ldOut)
{
    std::int64_t r = 0;
    for (; r + 6 <= m; r += 6)
        dotsRows<6>(a + r * lda, lda, b, ldb, n, k, out + r * ldOut, ldOut);
    switch (m - r) {
        case 5: dotsRows<5>(a + r * lda, lda, b, ldb, n, k, out + r * ldOut, ldOut); break;
        case 4: dotsRows<4>(a + r * lda, lda, b, ldb, n, k, out + r * ldOut, ldOut); break;
        case 3: dotsRows<3>(a + r * lda, lda, b, ldb, n, k, out + r * ldOut, ldOut); break;
        case 2: dotsRows<2>(a + r * lda, lda, b, ldb, n, k, out + r * ldOut, ldOut); break;
        case 1: dotsRows<1>(a + r * lda, lda, b, ldb, n, k, out + r * ldOut, ldOut); break;
        default: break;
    }
}

__attribute__((target_clones("avx512f", "avx2", "default"))) void accumulateProducts(
    const float* a, std::int64_t lda, std::int64_t m, const float* b, std::int64_t ldb, std::int64_t k, std::int64_t n,
    float* out, std::int64_t ldOut)
{
    for (std::int64_t i = 0; i < m; ++i) {
        float* __restrict o = out + i * ldOut;
        for (std::int64_t p = 0; p < k; ++p) {
            const float x = a[i * lda + p];
            const float* __restrict row = b + p * ldb;
            for (std::int64_t j = 0; j < n; ++j)
                o[j] += x * row[j];
        }
    }
}

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
            // The weights stream from the last-level cache (a model's decoder layers are ~16 MB, read once per click):
            // fetched 8 rows (1 KB) ahead, a 2 MB layer reads in ~80 us instead of ~130 (~26 GB/s, this machine's
            // one-core streaming rate). Past the panel's end it fetches the next panel's rows, which come next.
            __builtin_prefetch(panel + (i + 8) * 32);
            __builtin_prefetch(panel + (i + 8) * 32 + 16);
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
            const int width = int(std::min<std::int64_t>(32, o - 32 * p));
            smallLinearPanel(xr, n, k, panels + p * k * 32, bias + 32 * p, width, yr);
        }
    }
}


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
