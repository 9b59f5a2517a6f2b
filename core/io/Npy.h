#pragma once
// Std
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace camsight::io {

/// Element types CamSight reads and writes in NumPy's .npy format.
enum class NpyType { Bool, UInt8, Int8, UInt16, Int16, UInt32, Int32, Int64, Float32, Float64 };

/// A C-ordered n-dimensional array as stored in a .npy file, in native (little-endian) byte order.
struct NpyArray {
    NpyType type = NpyType::Float32;
    std::vector<std::size_t> shape;
    std::vector<std::uint8_t> bytes;

    std::size_t count() const;
    std::size_t itemSize() const;
    /// Values converted to double (any element type).
    std::vector<double> toDouble() const;
    /// Values converted to float (any element type).
    std::vector<float> toFloat() const;
    std::string shapeString() const;  ///< e.g. "(3, 64, 64)"
};

/// Reads a .npy file (format versions 1-3). Throws std::runtime_error naming the file and the problem
/// (not a .npy file, truncated, Fortran order, unsupported dtype, big-endian data).
NpyArray readNpy(const std::string& path);

/// Writes a .npy file (format version 1.0). Throws std::runtime_error when the file cannot be written.
void writeNpy(const std::string& path, const NpyArray& array);

/// Convenience writers from contiguous buffers.
void writeNpy(const std::string& path, const float* data, const std::vector<std::size_t>& shape);
void writeNpy(const std::string& path, const std::uint8_t* data, const std::vector<std::size_t>& shape);

}  // namespace camsight::io
