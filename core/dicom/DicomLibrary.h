#pragma once
// Std
#include <string>

namespace camsight::dicom {

/// Version of the DCMTK library this module is built against, e.g. "3.6.7".
std::string dcmtkVersion();

/// Registers DCMTK's decompression codecs (RLE, JPEG, JPEG-LS) once per process; thread-safe.
void registerCodecs();

}  // namespace camsight::dicom
