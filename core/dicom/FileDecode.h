#pragma once
// Private to core/dicom: one DICOM file's pixels, decoded (the loader assembles files into a volume).

// Local
#include "core/dicom/SeriesScan.h"
#include "core/image/WindowLevel.h"

// Std
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace camsight::dicom {

/// What a file says about its pixels, and the error when it cannot be decoded.
struct Decoded {
    std::string error;
    int bitsAllocated = 16, bitsStored = 16, highBit = 15, pixelRepresentation = 0, samples = 1, planar = 0;
    std::string photometric;
    double slope = 1, intercept = 0;
    std::optional<image::WindowLevel> window;
    bool floatData = false;
};

/// Decodes one file: grey samples as doubles of the stored values (masked to BitsStored, sign-extended from HighBit;
/// per-frame rescales already applied, then `floatData` is set), or interleaved 8-bit RGB. frames x rows x columns
/// values. On failure `error` holds one line saying why (the file name is added by the caller).
Decoded decodeFile(const SliceInfo& slice, std::vector<double>* grey, std::vector<std::uint8_t>* rgb);

}  // namespace camsight::dicom
