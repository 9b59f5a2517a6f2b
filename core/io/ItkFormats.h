#pragma once
// Std
#include <string>

namespace camsight::io {

/// Version of the ITK library behind the NIfTI/NRRD readers, e.g. "5.2.1" (full build only).
std::string itkVersion();

}  // namespace camsight::io
