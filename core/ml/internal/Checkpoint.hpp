#pragma once
// Private to core/ml: the checkpoint loader with LibTorch tensors.

// Local
#include "core/ml/Checkpoint.h"

// LibTorch
#include <torch/torch.h>

// Std
#include <string>
#include <utility>
#include <vector>

namespace camsight::ml {

/// Tensors by key, in file order.
using StateDict = std::vector<std::pair<std::string, torch::Tensor>>;

/// Reads a PyTorch checkpoint without executing anything.
///
/// Zip archives written by `torch.save` (>= 1.6): `data.pkl` is interpreted by a pickle machine that knows only what a
/// state_dict needs - tensor rebuild functions (`torch._utils._rebuild_tensor_v2`, `_rebuild_parameter`), storages
/// of every dtype (`torch.FloatStorage`, ...), `collections.OrderedDict` (with its `_metadata`), dicts, lists,
/// tuples, strings, numbers, booleans and None - and refuses every other global with CheckpointError. `.safetensors`
/// files are read from their JSON header. Nested checkpoints are unwrapped: the first of "state_dict", "model",
/// "model_state_dict", "module", "net" that holds tensors, and a "module." prefix shared by every key is dropped.
/// Non-tensor entries of a state_dict are skipped. Throws CheckpointError naming `path` and the problem (not a
/// checkpoint, truncated, a missing storage record, a forbidden global, out-of-range storage views).
StateDict loadCheckpoint(const std::string& path);

/// Writes `sd` as `torch.save(OrderedDict)` does (a zip archive with data.pkl and one storage per tensor), readable
/// by torch.load and by loadCheckpoint. Tensors are written contiguous, on the CPU. Throws CheckpointError.
void saveCheckpoint(const StateDict& sd, const std::string& path);

}  // namespace camsight::ml
