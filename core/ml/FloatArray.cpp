#include "core/ml/FloatArray.h"

namespace camsight::ml {

FloatArray::FloatArray(std::vector<std::int64_t> s) : shape(std::move(s)), data(count(), 0.0f) {}

std::size_t FloatArray::count() const
{
    std::size_t n = 1;
    for (auto d : shape)
        n *= static_cast<std::size_t>(d < 0 ? 0 : d);
    return n;
}

std::string FloatArray::shapeString() const
{
    std::string s = "[";
    for (std::size_t i = 0; i < shape.size(); ++i)
        s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

}  // namespace camsight::ml
