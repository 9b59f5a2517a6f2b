#pragma once
// Private to core/dicom: colour models turned into 8-bit RGB for display (PS3.3 C.7.6.3.1).

// Std
#include <cstdint>
#include <string>
#include <vector>

class DcmItem;

namespace camsight::dicom {

/// A palette colour lookup table (C.7.6.3.1.5-6 and the segmented form of C.7.9.2), expanded, its entries reduced
/// to 8 bits (16-bit tables keep their high byte).
struct Palette {
    std::int64_t firstMapped = 0;
    std::vector<std::uint8_t> red, green, blue;

    /// The colour of a stored index: below the first mapped value the first entry, past the end the last.
    void apply(std::int64_t index, std::uint8_t* rgb) const
    {
        std::int64_t i = index - firstMapped;
        const std::int64_t last = std::int64_t(red.size()) - 1;
        i = i < 0 ? 0 : (i > last ? last : i);
        rgb[0] = red[std::size_t(i)];
        rgb[1] = green[std::size_t(i)];
        rgb[2] = blue[std::size_t(i)];
    }
};

/// Reads the three tables from a data set; returns an error line (empty on success).
std::string readPalette(DcmItem* ds, bool signedIndices, Palette* out);

/// Expands segmented LUT data (discrete, linear and indirect segments). Throws std::runtime_error on malformed data.
std::vector<std::uint32_t> expandSegmentedLut(const std::vector<std::uint32_t>& words);

/// YBR_FULL (ITU-R BT.601 full range, C.7.6.3.1.2) to RGB in place, rounded and clamped.
void ybrFullToRgb(std::uint8_t* pixels, std::size_t count);

/// Uncompressed YBR_FULL_422 (Y1 Y2 Cb Cr per horizontal pair) of one frame to interleaved YBR_FULL.
void expandYbr422(const std::uint8_t* src, int rows, int columns, std::uint8_t* dst);

}  // namespace camsight::dicom
