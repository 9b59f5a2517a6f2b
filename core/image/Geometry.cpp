#include "core/image/Geometry.h"

// Std
#include <cmath>

namespace camsight::image {

Vec3 Geometry::indexToPhysical(const Vec3& ijk) const
{
    Vec3 out = origin;
    for (int r = 0; r < 3; ++r)
        for (int c = 0; c < 3; ++c)
            out[r] += direction[3 * r + c] * spacing[c] * ijk[c];
    return out;
}

Vec3 Geometry::physicalToIndex(const Vec3& xyz) const
{
    // The direction matrix is orthonormal for every grid CamSight builds, so its inverse is its transpose.
    Vec3 d{xyz[0] - origin[0], xyz[1] - origin[1], xyz[2] - origin[2]};
    Vec3 out{0, 0, 0};
    for (int c = 0; c < 3; ++c) {
        double s = 0;
        for (int r = 0; r < 3; ++r)
            s += direction[3 * r + c] * d[r];
        out[c] = s / spacing[c];
    }
    return out;
}

const char* Geometry::dominantLetter(const Vec3& v)
{
    // LPS: +x = patient Left, +y = Posterior, +z = Superior (head).
    int best = 0;
    for (int i = 1; i < 3; ++i)
        if (std::fabs(v[i]) > std::fabs(v[best]))
            best = i;
    static const char* pos[3] = {"L", "P", "S"};
    static const char* neg[3] = {"R", "A", "I"};
    return v[best] >= 0 ? pos[best] : neg[best];
}

}  // namespace camsight::image
