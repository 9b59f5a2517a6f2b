#include "core/image/SplineResize.h"

// Std
#include <algorithm>
#include <cmath>

namespace camsight::image {
namespace {

// scipy's mirror boundary: ... c b | a b c ... n-1 | n-2 ... (reflection about the edge samples).
std::ptrdiff_t mirror(std::ptrdiff_t i, std::ptrdiff_t n)
{
    if (n == 1)
        return 0;
    const std::ptrdiff_t period = 2 * (n - 1);
    i %= period;
    if (i < 0)
        i += period;
    return i < n ? i : period - i;
}

// Cubic B-spline coefficients of one line, in place (scipy ni_splines: gain, causal and anticausal passes with
// the mirror initialisations).
void splinePrefilter(double* c, std::size_t n)
{
    if (n < 2)
        return;
    const double z = std::sqrt(3.0) - 2.0;
    const double gain = (1.0 - z) * (1.0 - 1.0 / z);
    for (std::size_t i = 0; i < n; ++i)
        c[i] *= gain;
    const double zn1 = std::pow(z, double(n - 1));
    double c0 = c[0] + zn1 * c[n - 1];
    double zi = z;
    for (std::size_t i = 1; i + 1 < n; ++i) {
        c0 += zi * (c[i] + zn1 * c[n - 1 - i]);
        zi *= z;
    }
    c[0] = c0 / (1.0 - zn1 * zn1);
    for (std::size_t i = 1; i < n; ++i)
        c[i] += z * c[i - 1];
    c[n - 1] = (z * c[n - 2] + c[n - 1]) * z / (z * z - 1.0);
    for (std::size_t i = n - 1; i-- > 0;)
        c[i] = z * (c[i + 1] - c[i]);
}

// Gaussian smoothing of one line with scipy's kernel (radius int(4 sigma + 0.5), normalised) and mirror boundary.
void gaussianLine(const double* in, double* out, std::size_t n, double sigma)
{
    const int radius = static_cast<int>(4.0 * sigma + 0.5);
    std::vector<double> k(2 * std::size_t(radius) + 1);
    double sum = 0;
    for (int i = -radius; i <= radius; ++i) {
        k[std::size_t(i + radius)] = std::exp(-0.5 / (sigma * sigma) * double(i) * double(i));
        sum += k[std::size_t(i + radius)];
    }
    for (auto& v : k)
        v /= sum;
    for (std::size_t o = 0; o < n; ++o) {
        double acc = 0;
        for (int i = -radius; i <= radius; ++i)
            acc += k[std::size_t(i + radius)] * in[mirror(std::ptrdiff_t(o) + i, std::ptrdiff_t(n))];
        out[o] = acc;
    }
}

// Resamples every line (stride 1 within a line) of coefficients to `outSize` samples.
void splineSample(const double* c, std::size_t n, double* out, std::size_t outSize)
{
    const double scale = double(n) / double(outSize);
    for (std::size_t o = 0; o < outSize; ++o) {
        const double x = (double(o) + 0.5) * scale - 0.5;
        const double f = std::floor(x);
        const double t = x - f;
        const double w[4] = {(1 - t) * (1 - t) * (1 - t) / 6.0, (3 * t * t * t - 6 * t * t + 4) / 6.0,
                             (-3 * t * t * t + 3 * t * t + 3 * t + 1) / 6.0, t * t * t / 6.0};
        const std::ptrdiff_t i0 = static_cast<std::ptrdiff_t>(f) - 1;
        double acc = 0;
        for (int k = 0; k < 4; ++k)
            acc += w[k] * c[mirror(i0 + k, std::ptrdiff_t(n))];
        out[o] = acc;
    }
}

}  // namespace

std::vector<double> resizeCubicSpline(const std::vector<double>& in, std::size_t w, std::size_t h, std::size_t nw,
                                      std::size_t nh)
{
    std::vector<double> img = in;
    const auto [mn, mx] = std::minmax_element(in.begin(), in.end());
    const double lo = *mn, hi = *mx;
    // Anti-aliasing on shrinking axes.
    const double sigmaX = std::max(0.0, (double(w) / nw - 1.0) / 2.0), sigmaY = std::max(0.0, (double(h) / nh - 1.0) / 2.0);
    std::vector<double> line, res;
    if (sigmaY > 0) {
        line.resize(h);
        res.resize(h);
        for (std::size_t x = 0; x < w; ++x) {
            for (std::size_t y = 0; y < h; ++y)
                line[y] = img[y * w + x];
            gaussianLine(line.data(), res.data(), h, sigmaY);
            for (std::size_t y = 0; y < h; ++y)
                img[y * w + x] = res[y];
        }
    }
    if (sigmaX > 0) {
        res.resize(w);
        for (std::size_t y = 0; y < h; ++y) {
            gaussianLine(&img[y * w], res.data(), w, sigmaX);
            std::copy(res.begin(), res.end(), img.begin() + std::ptrdiff_t(y * w));
        }
    }
    // Spline coefficients along both axes, then separable sampling: rows to the new width, columns to the new height.
    for (std::size_t y = 0; y < h; ++y)
        splinePrefilter(&img[y * w], w);
    line.resize(h);
    for (std::size_t x = 0; x < w; ++x) {
        for (std::size_t y = 0; y < h; ++y)
            line[y] = img[y * w + x];
        splinePrefilter(line.data(), h);
        for (std::size_t y = 0; y < h; ++y)
            img[y * w + x] = line[y];
    }
    std::vector<double> rows(nw * h);
    for (std::size_t y = 0; y < h; ++y)
        splineSample(&img[y * w], w, &rows[y * nw], nw);
    std::vector<double> out(nw * nh), col(h), colOut(nh);
    for (std::size_t x = 0; x < nw; ++x) {
        for (std::size_t y = 0; y < h; ++y)
            col[y] = rows[y * nw + x];
        splineSample(col.data(), h, colOut.data(), nh);
        for (std::size_t y = 0; y < nh; ++y)
            out[y * nw + x] = std::clamp(colOut[y], lo, hi);
    }
    return out;
}

}  // namespace camsight::image
