#pragma once
// Std
#include <cstddef>
#include <cstdint>

namespace camsight::image {

/// Display window as DICOM defines it (PS3.3 C.11.2.1.2, linear function): values at or below
/// center - width/2 map to 0, at or above center + width/2 to 255.
struct WindowLevel {
    double center = 40.0;
    double width = 400.0;
    bool inverted = false;  ///< MONOCHROME1: high values are dark
};

/// Maps `n` values to 8-bit grey levels with the window.
template <class T>
void applyWindow(const T* in, std::size_t n, const WindowLevel& wl, std::uint8_t* out);

/// Window covering [min, max] of the values, for data without a stored window.
template <class T>
WindowLevel autoWindow(const T* in, std::size_t n);

}  // namespace camsight::image
