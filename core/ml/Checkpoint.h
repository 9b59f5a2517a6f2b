#pragma once
// Std
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace camsight::ml {

/// A checkpoint that cannot be read: the message names the file and the problem.
class CheckpointError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// One tensor of a checkpoint, without its values.
struct CheckpointEntry {
    std::string key;
    std::string dtype;                ///< "float32", "float16", "bfloat16", "float64", "int64", ... "bool"
    std::vector<std::int64_t> shape;
};

/// The tensors of a checkpoint (`torch.save` zip archives, `.safetensors`), in file order, after unwrapping
/// ({"model": ...}, {"state_dict": ...}, "module." prefixes). See internal/Checkpoint.hpp for the loader itself.
std::vector<CheckpointEntry> inspectCheckpoint(const std::string& path);

}  // namespace camsight::ml
