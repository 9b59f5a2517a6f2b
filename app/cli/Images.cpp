#include "app/cli/Images.h"

// Local
#include "core/io/Npy.h"
#ifdef CAMSIGHT_FULL_BUILD
#include "core/io/ItkFormats.h"
#endif

// Std
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <stdexcept>
#include <vector>

namespace camsight::cli {
namespace {

namespace fs = std::filesystem;

// Grey or colour values to 8-bit RGB: 8-bit data as is, anything else scaled from its min-max range.
ml::RgbImage toRgb8(const std::vector<float>& v, int width, int height, int channels, bool alreadyBytes)
{
    ml::RgbImage im;
    im.width = width;
    im.height = height;
    im.rgb.resize(std::size_t(width) * height * 3);
    float lo = 0, hi = 255;
    if (!alreadyBytes && !v.empty()) {
        const auto [mn, mx] = std::minmax_element(v.begin(), v.end());
        lo = *mn;
        hi = *mx;
    }
    const float scale = hi > lo ? 255.0f / (hi - lo) : 0.0f;
    for (std::size_t p = 0; p < std::size_t(width) * height; ++p)
        for (int c = 0; c < 3; ++c) {
            const float x = v[p * channels + (channels == 3 ? c : 0)];
            im.rgb[p * 3 + c] = static_cast<std::uint8_t>(std::clamp(std::floor((x - lo) * scale + 0.5f), 0.0f, 255.0f));
        }
    return im;
}

}  // namespace

ml::RgbImage readImage(const std::string& path)
{
    if (fs::path(path).extension() == ".npy") {
        const io::NpyArray a = io::readNpy(path);
        const bool hw3 = a.shape.size() == 3 && a.shape[2] == 3;
        if (!(a.shape.size() == 2 || hw3))
            throw std::runtime_error(path + ": an image is H x W or H x W x 3, got " + a.shapeString());
        return toRgb8(a.toFloat(), int(a.shape[1]), int(a.shape[0]), hw3 ? 3 : 1, a.type == io::NpyType::UInt8);
    }
#ifdef CAMSIGHT_FULL_BUILD
    const io::ImageFile f = io::readImageFile(path);
    if (f.size[2] != 1)
        throw std::runtime_error(path + ": a volume of " + std::to_string(f.size[2]) + " slices; one 2D image is read");
    if (f.components != 1 && f.components != 3)
        throw std::runtime_error(path + ": " + std::to_string(f.components) + " components per pixel; 1 or 3 are read");
    bool bytes = true;
    for (float x : f.pixels)
        if (x < 0 || x > 255 || x != std::floor(x)) {
            bytes = false;
            break;
        }
    return toRgb8(f.pixels, int(f.size[0]), int(f.size[1]), f.components, bytes);
#else
    throw std::runtime_error(path + ": this engine-only build reads .npy images; PNG and DICOM need the full build");
#endif
}

}  // namespace camsight::cli
