#include "core/image/Resample.h"

// Std
#include <algorithm>
#include <cmath>

namespace camsight::image {

bool sameGrid(const Grid& a, const Grid& b)
{
    if (a.size != b.size)
        return false;
    for (int d = 0; d < 3; ++d) {
        const double sa = a.geometry.spacing[d], sb = b.geometry.spacing[d];
        if (std::fabs(sa - sb) > 1e-4 * std::max(std::fabs(sa), std::fabs(sb)))
            return false;
        if (std::fabs(a.geometry.origin[d] - b.geometry.origin[d]) > 1e-3 * std::min(sa, sb))
            return false;
    }
    for (int i = 0; i < 9; ++i)
        if (std::fabs(a.geometry.direction[i] - b.geometry.direction[i]) > 1e-4)
            return false;
    return true;
}

std::vector<float> resampleLinear(const std::vector<float>& v, const Grid& from, const Grid& to, float outside,
                                  std::size_t* covered)
{
    std::vector<float> out(to.count(), outside);
    std::size_t inside = 0;
    const auto& fs = from.size;
    auto at = [&](std::size_t i, std::size_t j, std::size_t k) { return double(v[(k * fs[1] + j) * fs[0] + i]); };
    for (std::size_t k = 0; k < to.size[2]; ++k)
        for (std::size_t j = 0; j < to.size[1]; ++j)
            for (std::size_t i = 0; i < to.size[0]; ++i) {
                const Vec3 p = to.geometry.indexToPhysical({double(i), double(j), double(k)});
                const Vec3 q = from.geometry.physicalToIndex(p);
                bool in = true;
                std::array<std::size_t, 3> lo{};
                std::array<double, 3> f{};
                std::array<std::size_t, 3> hi{};
                for (int d = 0; d < 3 && in; ++d) {
                    const double c = q[d];
                    const double n = double(fs[d]);
                    if (c < -0.5 - 1e-6 || c > n - 0.5 + 1e-6) {
                        in = false;
                        break;
                    }
                    const double cc = std::clamp(c, 0.0, n - 1);
                    lo[d] = std::min(static_cast<std::size_t>(cc), fs[d] - 1);
                    hi[d] = std::min(lo[d] + 1, fs[d] - 1);
                    f[d] = cc - double(lo[d]);
                }
                if (!in)
                    continue;
                ++inside;
                double acc = 0;
                for (int corner = 0; corner < 8; ++corner) {
                    const std::size_t ii = corner & 1 ? hi[0] : lo[0], jj = corner & 2 ? hi[1] : lo[1],
                                      kk = corner & 4 ? hi[2] : lo[2];
                    const double w = (corner & 1 ? f[0] : 1 - f[0]) * (corner & 2 ? f[1] : 1 - f[1]) * (corner & 4 ? f[2] : 1 - f[2]);
                    if (w != 0)
                        acc += w * at(ii, jj, kk);
                }
                out[(k * to.size[1] + j) * to.size[0] + i] = static_cast<float>(acc);
            }
    if (covered)
        *covered = inside;
    return out;
}

std::vector<float> resizePlaneBilinear(const std::vector<float>& in, std::size_t w, std::size_t h, std::size_t nw,
                                       std::size_t nh)
{
    std::vector<float> out(nw * nh);
    const double sx = double(w) / nw, sy = double(h) / nh;
    for (std::size_t y = 0; y < nh; ++y) {
        const double fyc = std::clamp((y + 0.5) * sy - 0.5, 0.0, double(h - 1));
        const std::size_t y0 = static_cast<std::size_t>(fyc), y1 = std::min(y0 + 1, h - 1);
        const double fy = fyc - double(y0);
        for (std::size_t x = 0; x < nw; ++x) {
            const double fxc = std::clamp((x + 0.5) * sx - 0.5, 0.0, double(w - 1));
            const std::size_t x0 = static_cast<std::size_t>(fxc), x1 = std::min(x0 + 1, w - 1);
            const double fx = fxc - double(x0);
            const double v = (1 - fy) * ((1 - fx) * in[y0 * w + x0] + fx * in[y0 * w + x1]) +
                             fy * ((1 - fx) * in[y1 * w + x0] + fx * in[y1 * w + x1]);
            out[y * nw + x] = static_cast<float>(v);
        }
    }
    return out;
}

}  // namespace camsight::image
