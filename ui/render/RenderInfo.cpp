#include "ui/render/RenderInfo.h"

// VTK
#include <vtkVersion.h>

namespace camsight::render {

std::string vtkVersionString() { return vtkVersion::GetVTKVersion(); }

}  // namespace camsight::render
