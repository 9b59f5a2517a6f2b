#pragma once
// Local
#include "core/image/Geometry.h"

// Std
#include <array>
#include <cstddef>
#include <string>
#include <vector>

/// Image files read and written through ITK (full build only): NIfTI (.nii, .nii.gz), NRRD, MetaImage, PNG, JPEG and
/// single DICOM files.
namespace camsight::io {

/// Version of the ITK library behind these readers, e.g. "5.2.1".
std::string itkVersion();

/// An image file's voxels as float (components interleaved, x fastest) with its placement in patient space (LPS).
struct ImageFile {
    std::array<std::size_t, 3> size{1, 1, 1};  ///< columns, rows, slices (2D files: one slice)
    int components = 1;                        ///< 3 for RGB
    image::Geometry geometry;
    std::vector<float> pixels;

    std::size_t voxelCount() const { return size[0] * size[1] * size[2]; }
};

/// Reads any of the formats above (the format is detected from the file). Throws std::runtime_error naming the file
/// and the problem: missing, unknown format, more than 3 dimensions, more than 4 components, over 2^31 voxels.
ImageFile readImageFile(const std::string& path);

/// Sample types a volume can be written at (its own, not float).
enum class SampleType { UInt8, Int8, UInt16, Int16, UInt32, Int32, Float32 };

/// Writes a volume at its own sample type, 1 (grey) or 3 (RGB, interleaved) components, x fastest, with its geometry
/// (NIfTI when the name ends in .nii or .nii.gz; NRRD, MetaImage likewise by extension). Throws std::runtime_error
/// naming the file when it cannot be written.
void writeVolumeFile(const std::string& path, const std::array<std::size_t, 3>& size, const image::Geometry& geometry,
                     SampleType type, int components, const void* samples);

/// Writes a single-component float volume (NIfTI when the name ends in .nii or .nii.gz) with its geometry.
void writeImageFile(const std::string& path, const ImageFile& image);

}  // namespace camsight::io
