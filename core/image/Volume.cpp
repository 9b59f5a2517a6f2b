#include "core/image/Volume.h"

namespace camsight::image {

std::string toString(const Dims& d)
{
    return std::to_string(d.x) + "x" + std::to_string(d.y) + "x" + std::to_string(d.z);
}

}  // namespace camsight::image
