#include "core/ml/internal/MaskResample.hpp"

// LibTorch (parallel loops only)
#include <ATen/Parallel.h>

// Std
#include <algorithm>
#include <stdexcept>
#include <string>

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
    m_cols = axis(lowW, midW, keepW, outW);
}

void MaskResampler::apply(const float* low, float* out, std::uint8_t* mask, float threshold) const
{
    const std::int64_t outH = outHeight(), outW = outWidth();
    // Columns first: every low-resolution row resampled to the output width.
    std::vector<float> rows(std::size_t(m_lowH) * std::size_t(outW));
    at::parallel_for(0, m_lowH, 16, [&](std::int64_t r0, std::int64_t r1) {
        for (std::int64_t r = r0; r < r1; ++r) {
            const float* __restrict src = low + r * m_lowW;
            float* __restrict dst = rows.data() + r * outW;
            for (std::int64_t x = 0; x < outW; ++x) {
                const Tap* t = &m_cols[std::size_t(x) * kTaps];
                dst[x] = t[0].weight * src[t[0].index] + t[1].weight * src[t[1].index] + t[2].weight * src[t[2].index] +
                         t[3].weight * src[t[3].index];
            }
        }
    });
    // Then rows: each output row a weighted sum of four of those (contiguous, vectorised along x).
    at::parallel_for(0, outH, 16, [&](std::int64_t y0, std::int64_t y1) {
        for (std::int64_t y = y0; y < y1; ++y) {
            const Tap* t = &m_rows[std::size_t(y) * kTaps];
            const float* __restrict a = rows.data() + std::size_t(t[0].index) * outW;
            const float* __restrict b = rows.data() + std::size_t(t[1].index) * outW;
            const float* __restrict c = rows.data() + std::size_t(t[2].index) * outW;
            const float* __restrict d = rows.data() + std::size_t(t[3].index) * outW;
            const float wa = t[0].weight, wb = t[1].weight, wc = t[2].weight, wd = t[3].weight;
            float* __restrict dst = out + y * outW;
            for (std::int64_t x = 0; x < outW; ++x)
                dst[x] = wa * a[x] + wb * b[x] + wc * c[x] + wd * d[x];
            if (mask) {
                std::uint8_t* __restrict m = mask + y * outW;
                for (std::int64_t x = 0; x < outW; ++x)
                    m[x] = dst[x] > threshold;
            }
        }
    });
}

}  // namespace camsight::ml
