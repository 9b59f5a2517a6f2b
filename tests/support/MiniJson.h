#pragma once
// Local
#include "core/io/Json.h"

namespace camsight::test {

/// Golden manifests are read with the project's own JSON reader.
using Json = camsight::io::Json;

}  // namespace camsight::test
