#pragma once
// Std
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace camsight::ml {

/// A C-ordered float32 array: how tensors cross core/ml's boundary (its headers expose no LibTorch type).
struct FloatArray {
    std::vector<std::int64_t> shape;
    std::vector<float> data;

    FloatArray() = default;
    FloatArray(std::vector<std::int64_t> s, std::vector<float> d) : shape(std::move(s)), data(std::move(d)) {}
    /// Zero-filled array of the given shape.
    explicit FloatArray(std::vector<std::int64_t> s);

    std::size_t count() const;
    bool empty() const { return data.empty(); }
    std::string shapeString() const;  ///< e.g. "[1, 3, 128, 128]"
};

}  // namespace camsight::ml
