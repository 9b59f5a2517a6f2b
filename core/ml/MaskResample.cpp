#include "core/ml/internal/MaskResample.hpp"

// LibTorch (parallel loops only)
#include <ATen/Parallel.h>

// Std
#include <algorithm>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

namespace camsight::ml {
namespace {

// One F.interpolate(bilinear, align_corners=False) axis from `in` to `out` samples: for output o the two source samples
// and their weights. As upsample_bilinear2d computes them in LibTorch 1.13 (read off its weights with one-hot inputs):
// the scale in/out in float, the source (o + 0.5) * scale - 0.5 in double, clamped at 0, the upper neighbour clamped to
// the last sample.
struct Linear {
    std::int32_t i0, i1;
    double w0, w1;
};

Linear linearTap(int in, int out, int o)
{
    const double scale = double(float(in) / float(out));
    const double src = std::max(0.0, scale * (o + 0.5) - 0.5);
    const std::int32_t i0 = static_cast<std::int32_t>(src);
    const double l1 = src - i0;
    return {i0, i0 + (i0 < in - 1 ? 1 : 0), 1.0 - l1, l1};
}

}  // namespace

std::vector<MaskResampler::Tap> MaskResampler::axis(int low, int mid, int keep, int out)
{
    std::vector<Tap> taps(std::size_t(out) * kTaps, Tap{0, 0.0f});
    for (int o = 0; o < out; ++o) {
        Tap* t = &taps[std::size_t(o) * kTaps];
        if (mid == 0) {
            const Linear a = linearTap(low, out, o);
            t[0] = {a.i0, float(a.w0)};
            t[1] = {a.i1, float(a.w1)};
            continue;
        }
        const Linear a = linearTap(keep, out, o);  // into the kept part of the middle grid
        const Linear b0 = linearTap(low, mid, a.i0), b1 = linearTap(low, mid, a.i1);
        t[0] = {b0.i0, float(a.w0 * b0.w0)};
        t[1] = {b0.i1, float(a.w0 * b0.w1)};
        t[2] = {b1.i0, float(a.w1 * b1.w0)};
        t[3] = {b1.i1, float(a.w1 * b1.w1)};
    }
    return taps;
}

MaskResampler::MaskResampler(int lowH, int lowW, int midH, int midW, int keepH, int keepW, int outH, int outW)
    : m_lowH(lowH), m_lowW(lowW)
{
    const bool single = midH == 0 && midW == 0;
    if (lowH <= 0 || lowW <= 0 || outH <= 0 || outW <= 0 || (!single && (midH <= 0 || midW <= 0 || keepH <= 0 ||
                                                                         keepW <= 0 || keepH > midH || keepW > midW)))
        throw std::invalid_argument("mask resampling: bad sizes (low " + std::to_string(lowH) + "x" + std::to_string(lowW) +
                                    ", middle " + std::to_string(midH) + "x" + std::to_string(midW) + ", kept " +
                                    std::to_string(keepH) + "x" + std::to_string(keepW) + ", out " +
                                    std::to_string(outH) + "x" + std::to_string(outW) + ")");
    m_rows = axis(lowH, midH, keepH, outH);
    const std::vector<Tap> cols = axis(lowW, midW, keepW, outW);
    m_rowTaps = tapsUsed(m_rows);
    m_colTaps = tapsUsed(cols);
    for (int t = 0; t < kTaps; ++t) {  // the column taps as one index and one weight array per tap, for gatherRow
        m_colIndex[std::size_t(t)].resize(std::size_t(outW));
        m_colWeight[std::size_t(t)].resize(std::size_t(outW));
        for (int x = 0; x < outW; ++x) {
            m_colIndex[std::size_t(t)][std::size_t(x)] = cols[std::size_t(x) * kTaps + std::size_t(t)].index;
            m_colWeight[std::size_t(t)][std::size_t(x)] = cols[std::size_t(x) * kTaps + std::size_t(t)].weight;
        }
    }
    m_firstLowRow = lowH;
    for (std::size_t o = 0; o < m_rows.size(); o += kTaps)
        for (int t = 0; t < m_rowTaps; ++t) {
            m_firstLowRow = std::min(m_firstLowRow, int(m_rows[o + std::size_t(t)].index));
            m_endLowRow = std::max(m_endLowRow, int(m_rows[o + std::size_t(t)].index) + 1);
        }
}

int MaskResampler::tapsUsed(const std::vector<Tap>& taps)
{
    for (std::size_t o = 0; o < taps.size(); o += kTaps)
        if (taps[o + 2].weight != 0.0f || taps[o + 3].weight != 0.0f)
            return kTaps;
    return 2;
}

namespace {

// The two passes' inner loops, cloned for AVX-512, AVX2 and the baseline (the file's default target is SSE2, which
// neither gathers nor fuses the multiply-adds).

// dst[x] = sum over the taps of w_t[x] * src[i_t[x]], x < n (taps 2 or 4; tap tables one array per tap).
__attribute__((target_clones("avx512f", "avx2", "default"))) void gatherRow(const float* __restrict src, int taps,
                                                                               const std::int32_t* const* index,
                                                                               const float* const* weight, std::int64_t n,
                                                                               float* __restrict dst)
{
    const std::int32_t *__restrict i0 = index[0], *__restrict i1 = index[1];
    const float *__restrict w0 = weight[0], *__restrict w1 = weight[1];
    if (taps == 2) {
        for (std::int64_t x = 0; x < n; ++x)
            dst[x] = w0[x] * src[i0[x]] + w1[x] * src[i1[x]];
        return;
    }
    const std::int32_t *__restrict i2 = index[2], *__restrict i3 = index[3];
    const float *__restrict w2 = weight[2], *__restrict w3 = weight[3];
    for (std::int64_t x = 0; x < n; ++x)
        dst[x] = w0[x] * src[i0[x]] + w1[x] * src[i1[x]] + w2[x] * src[i2[x]] + w3[x] * src[i3[x]];
}

// dst[x] = sum over the taps of w[t] * rows[t][x], x < n; with `mask`, also mask[x] = dst[x] > threshold.
__attribute__((target_clones("avx512f", "avx2", "default"))) void blendRows(const float* const* rows, const float* w,
                                                                               int taps, std::int64_t n,
                                                                               float* __restrict dst,
                                                                               std::uint8_t* __restrict mask,
                                                                               float threshold)
{
    const float *__restrict a = rows[0], *__restrict b = rows[1];
    const float wa = w[0], wb = w[1];
    if (taps == 2) {
        for (std::int64_t x = 0; x < n; ++x)
            dst[x] = wa * a[x] + wb * b[x];
    } else {
        const float *__restrict c = rows[2], *__restrict d = rows[3];
        const float wc = w[2], wd = w[3];
        for (std::int64_t x = 0; x < n; ++x)
            dst[x] = wa * a[x] + wb * b[x] + wc * c[x] + wd * d[x];
    }
    if (mask)
        for (std::int64_t x = 0; x < n; ++x)
            mask[x] = dst[x] > threshold ? 1 : 0;
}

}  // namespace

void MaskResampler::apply(const float* low, float* out, std::uint8_t* mask, float threshold) const
{
    if (!out && !mask)
        return;
    const std::int64_t outH = outHeight(), outW = outWidth();
    // Columns first: every low-resolution row that an output row reads, resampled to the output width, into a buffer
    // the calling thread keeps (a fresh 1 MB block per mask was an mmap and its page faults). Not zero-filled: every
    // row in [m_firstLowRow, m_endLowRow) is written before it is read.
    thread_local std::vector<float> buffer;
    buffer.resize(std::max<std::size_t>(buffer.size(), std::size_t(m_endLowRow - m_firstLowRow) * std::size_t(outW)));
    float* const rows = buffer.data() - std::ptrdiff_t(m_firstLowRow) * outW;  // indexed by low-resolution row
    const std::int32_t* colIndex[kTaps];
    const float* colWeight[kTaps];
    for (int t = 0; t < kTaps; ++t) {
        colIndex[t] = m_colIndex[std::size_t(t)].data();
        colWeight[t] = m_colWeight[std::size_t(t)].data();
    }
    at::parallel_for(m_firstLowRow, m_endLowRow, 16, [&](std::int64_t r0, std::int64_t r1) {
        for (std::int64_t r = r0; r < r1; ++r)
            gatherRow(low + r * m_lowW, m_colTaps, colIndex, colWeight, outW, rows + r * outW);
    });
    // Then rows: each output row a weighted sum of two or four of those (contiguous, vectorised along x). Without
    // `out`, each row goes through a row buffer of the worker's and only the mask is written.
    at::parallel_for(0, outH, 16, [&](std::int64_t y0, std::int64_t y1) {
        thread_local std::vector<float> rowBuffer;
        if (!out)
            rowBuffer.resize(std::max<std::size_t>(rowBuffer.size(), std::size_t(outW)));
        for (std::int64_t y = y0; y < y1; ++y) {
            const Tap* t = &m_rows[std::size_t(y) * kTaps];
            const float* sources[kTaps];
            float weights[kTaps];
            for (int i = 0; i < kTaps; ++i) {
                sources[i] = rows + std::ptrdiff_t(t[i].index) * outW;
                weights[i] = t[i].weight;
            }
            blendRows(sources, weights, m_rowTaps, outW, out ? out + y * outW : rowBuffer.data(),
                      mask ? mask + y * outW : nullptr, threshold);
        }
    });
}

}  // namespace camsight::ml
