#pragma once
// Local
#include "core/image/Geometry.h"

// Std
#include <array>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace camsight::image {

/// Extent of a voxel grid: x = columns, y = rows, z = slices. Voxel (x, y, z) is stored at
/// x + nx * (y + ny * z) (DICOM/ITK order: a slice is rows of columns).
struct Dims {
    std::size_t x = 0, y = 0, z = 1;
    std::size_t count() const { return x * y * z; }
    std::size_t sliceCount() const { return x * y; }
    bool operator==(const Dims& o) const { return x == o.x && y == o.y && z == o.z; }
    bool operator!=(const Dims& o) const { return !(*this == o); }
};

std::string toString(const Dims& d);

/// A dense voxel grid of one scalar type with its geometry. Values are owned and contiguous.
template <class T>
class Volume {
public:
    Volume() = default;
    Volume(Dims dims, Geometry geometry = {}, T fill = T{})
        : m_dims(checked(dims)), m_geometry(geometry), m_data(dims.count(), fill)
    {
    }

    const Dims& dims() const { return m_dims; }
    const Geometry& geometry() const { return m_geometry; }
    void setGeometry(const Geometry& g) { m_geometry = g; }

    T* data() { return m_data.data(); }
    const T* data() const { return m_data.data(); }
    std::size_t size() const { return m_data.size(); }
    bool empty() const { return m_data.empty(); }

    T& at(std::size_t x, std::size_t y, std::size_t z = 0) { return m_data[index(x, y, z)]; }
    const T& at(std::size_t x, std::size_t y, std::size_t z = 0) const { return m_data[index(x, y, z)]; }
    T* slice(std::size_t z) { return m_data.data() + z * m_dims.sliceCount(); }
    const T* slice(std::size_t z) const { return m_data.data() + z * m_dims.sliceCount(); }

    std::vector<T>& values() { return m_data; }
    const std::vector<T>& values() const { return m_data; }

private:
    std::size_t index(std::size_t x, std::size_t y, std::size_t z) const { return x + m_dims.x * (y + m_dims.y * z); }
    static Dims checked(Dims d)
    {
        // Refuse grids whose voxel count overflows or exceeds what any study can hold (2^34 voxels).
        constexpr std::size_t kMaxVoxels = std::size_t(1) << 34;
        if (d.x == 0 || d.y == 0 || d.z == 0)
            throw std::invalid_argument("volume of size " + toString(d) + " is empty");
        if (d.x > kMaxVoxels / d.y || d.x * d.y > kMaxVoxels / d.z)
            throw std::length_error("volume of size " + toString(d) + " exceeds the 2^34-voxel limit");
        return d;
    }

    Dims m_dims;
    Geometry m_geometry;
    std::vector<T> m_data;
};

}  // namespace camsight::image
