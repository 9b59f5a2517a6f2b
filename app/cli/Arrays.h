#pragma once
// Local
#include "core/io/Npy.h"
#include "core/ml/FloatArray.h"

// Std
#include <filesystem>

namespace camsight::cli {

/// Writes an engine array as a float32 .npy of the same shape.
inline void saveArray(const std::filesystem::path& file, const ml::FloatArray& a)
{
    io::writeNpy(file.string(), a.data.data(), std::vector<std::size_t>(a.shape.begin(), a.shape.end()));
}

}  // namespace camsight::cli
