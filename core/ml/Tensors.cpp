#include "core/ml/internal/Tensors.hpp"

// Std
#include <stdexcept>

namespace camsight::ml {

torch::Tensor toTensor(const FloatArray& a)
{
    if (a.count() != a.data.size())
        throw std::invalid_argument("array of shape " + a.shapeString() + " holds " + std::to_string(a.data.size()) +
                                    " values");
    return torch::from_blob(const_cast<float*>(a.data.data()), a.shape, torch::kFloat32).clone();
}

torch::Tensor viewTensor(const FloatArray& a)
{
    if (a.count() != a.data.size())
        throw std::invalid_argument("array of shape " + a.shapeString() + " holds " + std::to_string(a.data.size()) +
                                    " values");
    return torch::from_blob(const_cast<float*>(a.data.data()), a.shape, torch::kFloat32);
}

FloatArray toArray(const torch::Tensor& t)
{
    const torch::Tensor c = t.detach().to(torch::kCPU, torch::kFloat32).contiguous();
    FloatArray a;
    a.shape.assign(c.sizes().begin(), c.sizes().end());
    a.data.assign(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
    return a;
}

}  // namespace camsight::ml
