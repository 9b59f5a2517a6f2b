#include "core/io/ItkFormats.h"

// ITK
#include <itkVersion.h>

namespace camsight::io {

std::string itkVersion() { return itk::Version::GetITKVersion(); }

}  // namespace camsight::io
