#include "core/image/PillowResize.h"

// Std
#include <algorithm>
#include <cmath>

namespace camsight::image {
namespace {

constexpr int kPrecisionBits = 32 - 8 - 2;

// Per output sample: the first input tap and the fixed-point weights (Pillow's precompute_coeffs and
// normalize_coeffs_8bpc).
struct Coefficients {
    std::vector<int> first, count;
    std::vector<std::int32_t> k;
    int taps = 0;
};

// Pillow's filters: triangle (radius 1) and Keys' cubic with a = -0.5 (radius 2).
double filterWeight(PillowFilter filter, double x)
{
    x = x < 0 ? -x : x;
    if (filter == PillowFilter::Bilinear)
        return x < 1.0 ? 1.0 - x : 0.0;
    constexpr double a = -0.5;
    if (x < 1.0)
        return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
    if (x < 2.0)
        return (((x - 5) * x + 8) * x - 4) * a;
    return 0.0;
}

Coefficients coefficients(std::size_t inSize, std::size_t outSize, PillowFilter filter)
{
    const double scale = double(inSize) / double(outSize);
    const double filterScale = std::max(scale, 1.0);
    const double support = (filter == PillowFilter::Bilinear ? 1.0 : 2.0) * filterScale;
    Coefficients c;
    c.taps = static_cast<int>(std::ceil(support)) * 2 + 1;
    c.first.resize(outSize);
    c.count.resize(outSize);
    c.k.assign(outSize * std::size_t(c.taps), 0);
    std::vector<double> w(std::size_t(c.taps));
    for (std::size_t o = 0; o < outSize; ++o) {
        const double center = (double(o) + 0.5) * scale;
        const double ss = 1.0 / filterScale;
        int xmin = static_cast<int>(center - support + 0.5);  // C truncation, as Pillow
        if (xmin < 0)
            xmin = 0;
        int xmax = static_cast<int>(center + support + 0.5);
        if (xmax > int(inSize))
            xmax = int(inSize);
        xmax -= xmin;
        xmax = std::min(xmax, c.taps);
        double total = 0;
        for (int x = 0; x < xmax; ++x) {
            w[std::size_t(x)] = filterWeight(filter, (x + xmin - center + 0.5) * ss);
            total += w[std::size_t(x)];
        }
        for (int x = 0; x < xmax; ++x) {
            const double v = total != 0.0 ? w[std::size_t(x)] / total : w[std::size_t(x)];
            c.k[o * std::size_t(c.taps) + std::size_t(x)] =
                v < 0 ? static_cast<std::int32_t>(-0.5 + v * (1 << kPrecisionBits))
                      : static_cast<std::int32_t>(0.5 + v * (1 << kPrecisionBits));
        }
        c.first[o] = xmin;
        c.count[o] = xmax;
    }
    return c;
}

std::uint8_t clip8(std::int64_t v)
{
    v >>= kPrecisionBits;
    return static_cast<std::uint8_t>(v < 0 ? 0 : v > 255 ? 255 : v);
}

}  // namespace

std::vector<std::uint8_t> resizeBilinearPillow(const std::uint8_t* src, std::size_t w, std::size_t h, std::size_t ch,
                                               std::size_t nw, std::size_t nh)
{
    return resizePillow(src, w, h, ch, nw, nh, PillowFilter::Bilinear);
}

std::vector<std::uint8_t> resizePillow(const std::uint8_t* src, std::size_t w, std::size_t h, std::size_t ch,
                                       std::size_t nw, std::size_t nh, PillowFilter filter)
{
    // Horizontal pass (skipped, as in Pillow, when the width does not change).
    std::vector<std::uint8_t> mid;
    const std::uint8_t* rows = src;
    if (nw != w) {
        const Coefficients c = coefficients(w, nw, filter);
        mid.resize(nw * h * ch);
        for (std::size_t y = 0; y < h; ++y)
            for (std::size_t x = 0; x < nw; ++x)
                for (std::size_t k = 0; k < ch; ++k) {
                    std::int64_t ss = std::int64_t(1) << (kPrecisionBits - 1);
                    const std::int32_t* kk = &c.k[x * std::size_t(c.taps)];
                    for (int t = 0; t < c.count[x]; ++t)
                        ss += std::int64_t(src[(y * w + std::size_t(c.first[x] + t)) * ch + k]) * kk[t];
                    mid[(y * nw + x) * ch + k] = clip8(ss);
                }
        rows = mid.data();
    }
    if (nh == h) {
        if (mid.empty())
            return std::vector<std::uint8_t>(src, src + w * h * ch);
        return mid;
    }
    const Coefficients c = coefficients(h, nh, filter);
    std::vector<std::uint8_t> out(nw * nh * ch);
    for (std::size_t y = 0; y < nh; ++y) {
        const std::int32_t* kk = &c.k[y * std::size_t(c.taps)];
        for (std::size_t x = 0; x < nw; ++x)
            for (std::size_t k = 0; k < ch; ++k) {
                std::int64_t ss = std::int64_t(1) << (kPrecisionBits - 1);
                for (int t = 0; t < c.count[y]; ++t)
                    ss += std::int64_t(rows[(std::size_t(c.first[y] + t) * nw + x) * ch + k]) * kk[t];
                out[(y * nw + x) * ch + k] = clip8(ss);
            }
    }
    return out;
}

}  // namespace camsight::image
