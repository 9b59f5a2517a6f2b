#pragma once
// Std
#include <string>

namespace camsight::render {

/// Version of the VTK library used for 3D rendering and reslicing, e.g. "9.1.0".
std::string vtkVersionString();

}  // namespace camsight::render
