#pragma once
// Std
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace camsight::dicom {

/// One decoded JPEG 2000 image (DCMTK 3.6.7 has no JPEG 2000 decoder; this goes through Debian's OpenJPEG).
struct J2kImage {
    int width = 0, height = 0, components = 0, precision = 0;
    bool isSigned = false;
    std::vector<std::int32_t> samples;  ///< interleaved components, rows of width
};

/// Decodes a J2K codestream or a JP2 file held in memory. Component transforms signalled in the codestream (RCT/ICT)
/// are undone by OpenJPEG, so three components come back as RGB. Throws std::runtime_error with OpenJPEG's reason.
J2kImage decodeJpeg2000(const std::uint8_t* data, std::size_t size);

}  // namespace camsight::dicom
