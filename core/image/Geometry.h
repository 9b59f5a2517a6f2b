#pragma once
// Std
#include <array>

namespace camsight::image {

using Vec3 = std::array<double, 3>;

/// Placement of a voxel grid in patient space (LPS, millimetres), as DICOM and ITK define it:
/// physical = origin + direction * (spacing ∘ index). Columns of `direction` are the unit vectors
/// of the i (column), j (row) and k (slice) axes.
struct Geometry {
    Vec3 spacing{1.0, 1.0, 1.0};
    Vec3 origin{0.0, 0.0, 0.0};
    std::array<double, 9> direction{1, 0, 0, 0, 1, 0, 0, 0, 1};  ///< row-major 3x3

    Vec3 indexToPhysical(const Vec3& ijk) const;
    Vec3 physicalToIndex(const Vec3& xyz) const;
    /// Unit vector of axis a (0 = i/columns, 1 = j/rows, 2 = k/slices).
    Vec3 axis(int a) const { return {direction[a], direction[3 + a], direction[6 + a]}; }
    /// Letters of the patient direction an axis points to, e.g. "L", "PI" (largest components first).
    static const char* dominantLetter(const Vec3& v);
};

}  // namespace camsight::image
