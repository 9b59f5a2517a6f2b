#include "core/io/ItkFormats.h"

// ITK
#include <itkGDCMImageIOFactory.h>
#include <itkImageFileReader.h>
#include <itkImageFileWriter.h>
#include <itkImageIOFactory.h>
#include <itkImportImageFilter.h>
#include <itkJPEGImageIOFactory.h>
#include <itkMetaImageIOFactory.h>
#include <itkNiftiImageIOFactory.h>
#include <itkNrrdImageIOFactory.h>
#include <itkRGBPixel.h>
#include <itkPNGImageIOFactory.h>
#include <itkVectorImage.h>
#include <itkVersion.h>

// Std
#include <cstring>
#include <filesystem>
#include <mutex>
#include <stdexcept>

namespace camsight::io {
namespace {

using VectorVolume = itk::VectorImage<float, 3>;

void registerFactories()
{
    static std::once_flag once;
    std::call_once(once, [] {
        itk::NiftiImageIOFactory::RegisterOneFactory();
        itk::NrrdImageIOFactory::RegisterOneFactory();
        itk::MetaImageIOFactory::RegisterOneFactory();
        itk::PNGImageIOFactory::RegisterOneFactory();
        itk::JPEGImageIOFactory::RegisterOneFactory();
        itk::GDCMImageIOFactory::RegisterOneFactory();
    });
}

std::string firstLine(const std::string& s)
{
    // ITK messages start with the source location; keep the description.
    const auto d = s.find("Description: ");
    std::string out = d == std::string::npos ? s : s.substr(d + 13);
    return out.substr(0, out.find('\n'));
}

template <class Pixel>
void writeTyped(const std::string& path, const std::array<std::size_t, 3>& size, const image::Geometry& g,
                const void* samples)
{
    // The caller's buffer is handed to the writer as it is (no copy of the volume).
    using Import = itk::ImportImageFilter<Pixel, 3>;
    auto import = Import::New();
    typename Import::RegionType region;
    typename Import::SpacingType spacing;
    typename Import::OriginType origin;
    typename Import::DirectionType direction;
    for (unsigned d = 0; d < 3; ++d) {
        region.SetSize(d, size[d]);
        spacing[d] = g.spacing[d];
        origin[d] = g.origin[d];
        for (unsigned c = 0; c < 3; ++c)
            direction[d][c] = g.direction[d * 3 + c];
    }
    import->SetRegion(region);
    import->SetSpacing(spacing);
    import->SetOrigin(origin);
    import->SetDirection(direction);
    import->SetImportPointer(static_cast<Pixel*>(const_cast<void*>(samples)), size[0] * size[1] * size[2], false);
    auto writer = itk::ImageFileWriter<itk::Image<Pixel, 3>>::New();
    writer->SetFileName(path);
    writer->SetInput(import->GetOutput());
    writer->SetUseCompression(true);
    try {
        writer->Update();
    } catch (const itk::ExceptionObject& e) {
        throw std::runtime_error(path + ": cannot write: " + firstLine(e.what()));
    }
}

}  // namespace

void writeVolumeFile(const std::string& path, const std::array<std::size_t, 3>& size, const image::Geometry& geometry,
                     SampleType type, int components, const void* samples)
{
    registerFactories();
    if (components == 3) {
        if (type != SampleType::UInt8)
            throw std::invalid_argument(path + ": RGB volumes are written with 8-bit samples");
        return writeTyped<itk::RGBPixel<std::uint8_t>>(path, size, geometry, samples);
    }
    if (components != 1)
        throw std::invalid_argument(path + ": 1 or 3 components per voxel");
    switch (type) {
    case SampleType::UInt8: return writeTyped<std::uint8_t>(path, size, geometry, samples);
    case SampleType::Int8: return writeTyped<std::int8_t>(path, size, geometry, samples);
    case SampleType::UInt16: return writeTyped<std::uint16_t>(path, size, geometry, samples);
    case SampleType::Int16: return writeTyped<std::int16_t>(path, size, geometry, samples);
    case SampleType::UInt32: return writeTyped<std::uint32_t>(path, size, geometry, samples);
    case SampleType::Int32: return writeTyped<std::int32_t>(path, size, geometry, samples);
    case SampleType::Float32: return writeTyped<float>(path, size, geometry, samples);
    }
}

std::string itkVersion() { return itk::Version::GetITKVersion(); }

ImageFile readImageFile(const std::string& path)
{
    registerFactories();
    if (!std::filesystem::is_regular_file(path))
        throw std::runtime_error(path + ": no such file");
    itk::ImageIOBase::Pointer imageIO = itk::ImageIOFactory::CreateImageIO(path.c_str(), itk::ImageIOFactory::IOFileModeEnum::ReadMode);
    if (!imageIO)
        throw std::runtime_error(path + ": not an image format CamSight reads (NIfTI, NRRD, MetaImage, PNG, JPEG, DICOM)");
    try {
        imageIO->SetFileName(path);
        imageIO->ReadImageInformation();
    } catch (const itk::ExceptionObject& e) {
        throw std::runtime_error(path + ": " + firstLine(e.what()));
    }
    const unsigned dims = imageIO->GetNumberOfDimensions();
    if (dims > 3) {
        // A 4D NIfTI with a single volume is fine; anything longer is not an image of one series.
        for (unsigned d = 3; d < dims; ++d)
            if (imageIO->GetDimensions(d) != 1)
                throw std::runtime_error(path + ": " + std::to_string(dims) + "-dimensional image; CamSight reads 2D and 3D");
    }
    const unsigned comps = imageIO->GetNumberOfComponents();
    if (comps < 1 || comps > 4)
        throw std::runtime_error(path + ": " + std::to_string(comps) + " components per voxel; CamSight reads 1 to 4");
    double voxels = 1;
    for (unsigned d = 0; d < std::min(dims, 3u); ++d)
        voxels *= double(imageIO->GetDimensions(d));
    if (voxels * comps > double(1u << 31))
        throw std::runtime_error(path + ": " + std::to_string(static_cast<long long>(voxels)) + " voxels is beyond what CamSight loads");

    auto reader = itk::ImageFileReader<VectorVolume>::New();
    reader->SetFileName(path);
    reader->SetImageIO(imageIO);
    try {
        reader->Update();
    } catch (const itk::ExceptionObject& e) {
        throw std::runtime_error(path + ": " + firstLine(e.what()));
    }
    const VectorVolume* img = reader->GetOutput();
    ImageFile out;
    const auto region = img->GetLargestPossibleRegion();
    for (int d = 0; d < 3; ++d) {
        out.size[d] = region.GetSize()[d];
        out.geometry.spacing[d] = img->GetSpacing()[d];
        out.geometry.origin[d] = img->GetOrigin()[d];
        for (int c = 0; c < 3; ++c)
            out.geometry.direction[d * 3 + c] = img->GetDirection()[d][c];
    }
    out.components = static_cast<int>(img->GetNumberOfComponentsPerPixel());
    const std::size_t n = out.voxelCount() * out.components;
    out.pixels.assign(img->GetBufferPointer(), img->GetBufferPointer() + n);
    return out;
}

void writeImageFile(const std::string& path, const ImageFile& image)
{
    if (image.components != 1)
        throw std::invalid_argument(path + ": only single-component volumes are written");
    if (image.pixels.size() != image.voxelCount())
        throw std::invalid_argument(path + ": the buffer does not match the size");
    writeVolumeFile(path, image.size, image.geometry, SampleType::Float32, 1, image.pixels.data());
}

}  // namespace camsight::io
