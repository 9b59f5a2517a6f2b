#pragma once
// Private to core/ml: how engine arrays cross into LibTorch and back.

// Local
#include "core/ml/FloatArray.h"

// LibTorch
#include <torch/torch.h>

namespace camsight::ml {

/// float32 CPU tensor <-> FloatArray (copies). toTensor throws std::invalid_argument when the values do not fill the
/// shape.
torch::Tensor toTensor(const FloatArray& a);
FloatArray toArray(const torch::Tensor& t);
/// A tensor over the array's own values, no copy: only for reading, and only while `a` lives unchanged.
torch::Tensor viewTensor(const FloatArray& a);

}  // namespace camsight::ml
