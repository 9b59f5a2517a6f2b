#include "core/metrics/DistanceTransform.h"

// Std
#include <limits>

namespace camsight::metrics {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// One 1D pass: d[p] = min_q (w (p - q))^2 + f[q], by the lower envelope of parabolas.
void transform1d(const double* f, double* d, std::size_t n, double w, std::vector<std::size_t>& v, std::vector<double>& z)
{
    const double w2 = w * w;
    std::size_t k = 0;
    std::size_t first = 0;
    while (first < n && f[first] == kInf)
        ++first;
    if (first == n) {
        for (std::size_t p = 0; p < n; ++p)
            d[p] = kInf;
        return;
    }
    v[0] = first;
    z[0] = -kInf;
    z[1] = kInf;
    for (std::size_t q = first + 1; q < n; ++q) {
        if (f[q] == kInf)
            continue;
        // z[0] = -inf, so the envelope never empties.
        auto intersect = [&](std::size_t r) {
            const double vr = static_cast<double>(v[r]), qq = static_cast<double>(q);
            return ((f[q] + w2 * qq * qq) - (f[v[r]] + w2 * vr * vr)) / (2 * w2 * (qq - vr));
        };
        double sx = intersect(k);
        while (sx <= z[k]) {
            --k;
            sx = intersect(k);
        }
        ++k;
        v[k] = q;
        z[k] = sx;
        z[k + 1] = kInf;
    }
    k = 0;
    for (std::size_t p = 0; p < n; ++p) {
        while (z[k + 1] < static_cast<double>(p))
            ++k;
        const double dp = w * (static_cast<double>(p) - static_cast<double>(v[k]));
        d[p] = dp * dp + f[v[k]];
    }
}

}  // namespace

std::vector<double> squaredDistanceToMask(const std::uint8_t* s, const MapShape& shape)
{
    const std::size_t nx = shape.nx, ny = shape.ny, nz = shape.nz, n = shape.count();
    std::vector<double> d(n);
    for (std::size_t i = 0; i < n; ++i)
        d[i] = s[i] ? 0.0 : kInf;
    const std::size_t longest = std::max(nx, std::max(ny, nz));
    std::vector<double> line(longest), out(longest);
    std::vector<std::size_t> v(longest);
    std::vector<double> z(longest + 1);
    auto pass = [&](std::size_t len, std::size_t stride, std::size_t lines, auto startOf, double w) {
        for (std::size_t l = 0; l < lines; ++l) {
            const std::size_t base = startOf(l);
            for (std::size_t i = 0; i < len; ++i)
                line[i] = d[base + i * stride];
            transform1d(line.data(), out.data(), len, w, v, z);
            for (std::size_t i = 0; i < len; ++i)
                d[base + i * stride] = out[i];
        }
    };
    pass(nx, 1, ny * nz, [&](std::size_t l) { return l * nx; }, shape.sx);
    pass(ny, nx, nx * nz, [&](std::size_t l) { return (l / nx) * nx * ny + l % nx; }, shape.sy);
    if (nz > 1)
        pass(nz, nx * ny, nx * ny, [&](std::size_t l) { return l; }, shape.sz);
    return d;
}

}  // namespace camsight::metrics
