#pragma once
// Private to core/ml: the pickle (data.pkl) of a torch.save archive, read without executing anything.

// Local
#include "core/ml/internal/Checkpoint.hpp"

// LibTorch
#include <torch/torch.h>

// Std
#include <cstdint>
#include <functional>
#include <map>
#include <string>

namespace camsight::ml {

/// Returns the storage `key` of `numel` values of a dtype as a 1-D tensor (from the archive's data/<key> record).
using StorageLoader = std::function<torch::Tensor(const std::string& key, c10::ScalarType type, std::int64_t numel)>;

/// The storage classes torch.save names ("torch.FloatStorage", ...) and their dtypes.
const std::map<std::string, c10::ScalarType>& storageTypes();

/// Interprets a state-dict pickle and returns its tensors, unwrapped as loadCheckpoint describes. Globals other than
/// the rebuild functions, storage classes and OrderedDict are refused. Throws CheckpointError naming `file`.
StateDict readStateDictPickle(const std::string& file, const std::uint8_t* data, std::size_t size,
                              const StorageLoader& load);

}  // namespace camsight::ml
