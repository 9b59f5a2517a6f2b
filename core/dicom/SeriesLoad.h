#pragma once
// Local
#include "core/dicom/SeriesScan.h"
#include "core/image/Volume.h"
#include "core/image/WindowLevel.h"

// Std
#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace camsight::dicom {

/// How voxels are kept: once, at the type the files store them in.
enum class PixelType { UInt8, Int8, UInt16, Int16, UInt32, Int32, Float32, Rgb8 };
std::size_t pixelBytes(PixelType t);

/// A series' voxels with what a radiologist needs to see them right.
struct LoadedSeries {
    image::Dims dims;
    image::Geometry geometry;
    PixelType type = PixelType::Int16;
    std::vector<std::uint8_t> voxels;  ///< dims.count() values of `type` (Rgb8: 3 bytes each), x fastest
    double slope = 1, intercept = 0;   ///< modality LUT: value = stored * slope + intercept (Float32 voxels: applied)
    bool monochrome1 = false;          ///< high values are dark: display inverted
    std::optional<image::WindowLevel> window;  ///< the first image's stored window, if any
    std::string photometric;
    std::vector<FileError> errors;     ///< files that could not be decoded (their slices are left at the minimum)

    /// Rescaled value of voxel i (grey types; for Rgb8 the luminance).
    double value(std::size_t i) const;
};

struct LoadOptions {
    std::function<void(std::size_t, std::size_t)> progress;  ///< (files decoded, files)
    const std::atomic<bool>* cancel = nullptr;
    int threads = 0;
};

/// Decodes every file of a scanned series in parallel through DCMTK's codecs (uncompressed in all byte orders and
/// VRs, deflate, RLE, JPEG baseline/extended/lossless, JPEG-LS): unused high bits masked and values sign-extended
/// from HighBit, the modality rescale kept (or applied into float when it differs between files), MONOCHROME1
/// flagged, RGB kept interleaved. A file that cannot be decoded gets one error naming it and the reason (e.g.
/// "unsupported transfer syntax JPEG 2000 ... (1.2.840.10008.1.2.4.90)") while the rest loads. Throws
/// std::runtime_error when no file could be decoded, or the series holds more than 2^31 voxels or its headers
/// promise more than memory holds (checked before allocating). Returns an empty series when cancelled.
LoadedSeries loadSeries(const SeriesInfo& series, const LoadOptions& options = {});

/// The series with its modality rescale applied, for export to formats that do not carry one: unchanged when the
/// rescale is the identity; otherwise the smallest integer type that holds every rescaled value exactly when slope
/// and intercept are integers (CT: stored + -1024 in Int16), else Float32. Colour and float series come back as
/// they are. MONOCHROME1 values are kept as stored (the flag stays): inversion is a display matter. Pass the series
/// with std::move to convert in place where the type keeps its width.
LoadedSeries withModalityValues(LoadedSeries series);

}  // namespace camsight::dicom
