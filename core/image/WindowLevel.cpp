#include "core/image/WindowLevel.h"

// Std
#include <algorithm>
#include <cmath>

namespace camsight::image {

template <class T>
void applyWindow(const T* in, std::size_t n, const WindowLevel& wl, std::uint8_t* out)
{
    // PS3.3 C.11.2.1.2.1: y = ((x - (c - 0.5)) / (w - 1) + 0.5) * 255, clamped; width below 1 acts as 1.
    const double w = std::max(wl.width, 1.0);
    const double lo = wl.center - 0.5 - (w - 1) / 2;
    const double hi = wl.center - 0.5 + (w - 1) / 2;
    const double scale = w > 1 ? 255.0 / (w - 1) : 0.0;
    for (std::size_t i = 0; i < n; ++i) {
        const double x = static_cast<double>(in[i]);
        double y;
        if (x <= lo)
            y = 0;
        else if (x > hi)
            y = 255;
        else
            y = std::lround((x - lo) * scale);
        const auto v = static_cast<std::uint8_t>(std::clamp(y, 0.0, 255.0));
        out[i] = wl.inverted ? static_cast<std::uint8_t>(255 - v) : v;
    }
}

template <class T>
WindowLevel autoWindow(const T* in, std::size_t n)
{
    if (n == 0)
        return {};
    const auto [mn, mx] = std::minmax_element(in, in + n);
    const double lo = static_cast<double>(*mn), hi = static_cast<double>(*mx);
    return {(lo + hi) / 2 + 0.5, std::max(hi - lo + 1, 1.0), false};
}

#define CAMSIGHT_WINDOW_INSTANTIATE(T)                                                          \
    template void applyWindow<T>(const T*, std::size_t, const WindowLevel&, std::uint8_t*); \
    template WindowLevel autoWindow<T>(const T*, std::size_t);
CAMSIGHT_WINDOW_INSTANTIATE(std::uint8_t)
CAMSIGHT_WINDOW_INSTANTIATE(std::int16_t)
CAMSIGHT_WINDOW_INSTANTIATE(std::uint16_t)
CAMSIGHT_WINDOW_INSTANTIATE(std::int32_t)
CAMSIGHT_WINDOW_INSTANTIATE(float)
CAMSIGHT_WINDOW_INSTANTIATE(double)
#undef CAMSIGHT_WINDOW_INSTANTIATE

}  // namespace camsight::image
