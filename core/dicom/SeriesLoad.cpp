#include "core/dicom/SeriesLoad.h"

// Local
#include "core/dicom/DicomLibrary.h"
#include "core/dicom/FileDecode.h"
#include "core/dicom/ParallelFiles.h"

// Std
#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <mutex>

namespace camsight::dicom {
namespace {

template <class T>
void put(std::vector<std::uint8_t>& bytes, std::size_t i, double v)
{
    const T t = static_cast<T>(v);
    std::memcpy(bytes.data() + i * sizeof(T), &t, sizeof(T));
}

template <class T>
double get(const std::vector<std::uint8_t>& bytes, std::size_t i)
{
    T t;
    std::memcpy(&t, bytes.data() + i * sizeof(T), sizeof(T));
    return double(t);
}

}  // namespace

std::size_t pixelBytes(PixelType t)
{
    switch (t) {
    case PixelType::UInt8: case PixelType::Int8: return 1;
    case PixelType::UInt16: case PixelType::Int16: return 2;
    case PixelType::UInt32: case PixelType::Int32: case PixelType::Float32: return 4;
    case PixelType::Rgb8: return 3;
    }
    return 1;
}

namespace {

// Stored value i of a grey volume (store() below is its inverse).
double fetch(PixelType t, const std::vector<std::uint8_t>& bytes, std::size_t i)
{
    switch (t) {
    case PixelType::UInt8: return get<std::uint8_t>(bytes, i);
    case PixelType::Int8: return get<std::int8_t>(bytes, i);
    case PixelType::UInt16: return get<std::uint16_t>(bytes, i);
    case PixelType::Int16: return get<std::int16_t>(bytes, i);
    case PixelType::UInt32: return get<std::uint32_t>(bytes, i);
    case PixelType::Int32: return get<std::int32_t>(bytes, i);
    case PixelType::Float32: return get<float>(bytes, i);
    case PixelType::Rgb8: break;
    }
    return 0;
}

}  // namespace

double LoadedSeries::value(std::size_t i) const
{
    if (type == PixelType::Rgb8)
        return 0.299 * voxels[i * 3] + 0.587 * voxels[i * 3 + 1] + 0.114 * voxels[i * 3 + 2];
    const double v = fetch(type, voxels, i);
    return type == PixelType::Float32 ? v : v * slope + intercept;
}

namespace {

bool fits(PixelType t, double lo, double hi)
{
    switch (t) {
    case PixelType::UInt8: return lo >= 0 && hi <= 255;
    case PixelType::Int8: return lo >= -128 && hi <= 127;
    case PixelType::UInt16: return lo >= 0 && hi <= 65535;
    case PixelType::Int16: return lo >= -32768 && hi <= 32767;
    case PixelType::UInt32: return lo >= 0 && hi <= 4294967295.0;
    case PixelType::Int32: return lo >= -2147483648.0 && hi <= 2147483647.0;
    case PixelType::Float32: case PixelType::Rgb8: return true;
    }
    return false;
}

void store(PixelType t, std::vector<std::uint8_t>& bytes, std::size_t i, double v)
{
    switch (t) {
    case PixelType::UInt8: put<std::uint8_t>(bytes, i, v); break;
    case PixelType::Int8: put<std::int8_t>(bytes, i, v); break;
    case PixelType::UInt16: put<std::uint16_t>(bytes, i, v); break;
    case PixelType::Int16: put<std::int16_t>(bytes, i, v); break;
    case PixelType::UInt32: put<std::uint32_t>(bytes, i, v); break;
    case PixelType::Int32: put<std::int32_t>(bytes, i, v); break;
    case PixelType::Float32: put<float>(bytes, i, v); break;
    case PixelType::Rgb8: break;
    }
}

PixelType typeFor(const Decoded& d)
{
    if (d.samples == 3)
        return PixelType::Rgb8;
    if (d.floatData)
        return PixelType::Float32;
    const bool sgn = d.pixelRepresentation == 1;
    if (d.bitsStored <= 8)
        return sgn ? PixelType::Int8 : PixelType::UInt8;
    if (d.bitsStored <= 16)
        return sgn ? PixelType::Int16 : PixelType::UInt16;
    return sgn ? PixelType::Int32 : PixelType::UInt32;
}

}  // namespace

LoadedSeries loadSeries(const SeriesInfo& series, const LoadOptions& options)
{
    registerCodecs();
    LoadedSeries out;
    if (series.slices.empty())
        throw std::runtime_error("series " + series.seriesUid + " has no files");
    out.dims = {series.dims[0], series.dims[1], series.dims[2]};
    out.geometry = series.geometry;
    const double voxelCount = double(out.dims.x) * double(out.dims.y) * double(out.dims.z);
    if (voxelCount > double(std::size_t(1) << 31))
        throw std::runtime_error(series.slices.front().path + ": the series would hold " +
                                 std::to_string(static_cast<long long>(voxelCount)) + " voxels, beyond what CamSight loads");
    const auto& slices = series.slices;
    const std::size_t frame = out.dims.x * out.dims.y, n = out.dims.count();
    std::vector<std::size_t> firstZ(slices.size());
    for (std::size_t i = 0, z = 0; i < slices.size(); z += std::size_t(slices[i].frames), ++i)
        firstZ[i] = z;
    std::vector<std::string> errors(slices.size());
    // The first file that decodes fixes the representation; the others are written straight into the volume, so the
    // series is held once (plus one decoded file per thread). A file that does not fit it (another rescale, wider
    // values) is kept aside as rescaled floats and the volume becomes float at the end.
    std::size_t done = 0;
    Decoded reference;
    std::size_t start = 0;
    std::vector<double> grey;
    std::vector<std::uint8_t> rgb;
    for (; start < slices.size(); ++start) {
        grey.clear();
        rgb.clear();
        reference = decodeFile(slices[start], &grey, &rgb);
        ++done;
        if (options.progress)
            options.progress(done, slices.size());
        if (reference.error.empty())
            break;
        errors[start] = reference.error;
    }
    if (start == slices.size())
        throw std::runtime_error(slices.front().path + ": " + errors.front() +
                                 (slices.size() > 1 ? " (and every other file of the series failed too)" : ""));
    out.type = typeFor(reference);
    out.slope = out.type == PixelType::Float32 ? 1.0 : reference.slope;
    out.intercept = out.type == PixelType::Float32 ? 0.0 : reference.intercept;
    out.photometric = reference.photometric;
    out.monochrome1 = reference.photometric == "MONOCHROME1";
    out.window = reference.window;
    out.voxels.assign(n * pixelBytes(out.type), 0);
    std::mutex aside;
    std::map<std::size_t, std::vector<float>> misfits;  // file index -> rescaled values
    auto write = [&](std::size_t i, const Decoded& d, const std::vector<double>& g, const std::vector<std::uint8_t>& c) {
        const std::size_t base = firstZ[i] * frame, values = frame * std::size_t(slices[i].frames);
        if (out.type == PixelType::Rgb8) {
            if (!c.empty())
                std::copy(c.begin(), c.begin() + std::ptrdiff_t(values * 3), out.voxels.begin() + std::ptrdiff_t(base * 3));
            else
                for (std::size_t k = 0; k < values; ++k)
                    std::fill_n(out.voxels.data() + (base + k) * 3, 3, static_cast<std::uint8_t>(std::clamp(g[k], 0.0, 255.0)));
            return;
        }
        double lo = 0, hi = 0;
        if (!g.empty()) {
            const auto [mn, mx] = std::minmax_element(g.begin(), g.begin() + std::ptrdiff_t(values));
            lo = *mn;
            hi = *mx;
        }
        const bool sameRescale = out.type == PixelType::Float32 ? (d.floatData || (d.slope == 1 && d.intercept == 0))
                                                                : (d.slope == out.slope && d.intercept == out.intercept);
        if (d.samples == 1 && sameRescale && fits(out.type, lo, hi)) {
            for (std::size_t k = 0; k < values; ++k)
                store(out.type, out.voxels, base + k, g[k]);
            return;
        }
        std::vector<float> f(values);
        for (std::size_t k = 0; k < values; ++k)
            f[k] = static_cast<float>(d.floatData ? g[k] : g[k] * d.slope + d.intercept);
        std::lock_guard<std::mutex> lock(aside);
        misfits.emplace(i, std::move(f));
    };
    write(start, reference, grey, rgb);
    grey = {};
    rgb = {};
    forEachFile(
        start + 1, slices.size(), options.threads, options.cancel,
        [&](std::size_t i) {
            std::vector<double> g;
            std::vector<std::uint8_t> c;
            const Decoded d = decodeFile(slices[i], &g, &c);
            if (d.error.empty())
                write(i, d, g, c);
            else
                errors[i] = d.error;
        },
        options.progress, done, slices.size());
    if (options.cancel && options.cancel->load())
        return LoadedSeries{};
    for (std::size_t i = 0; i < slices.size(); ++i)
        if (!errors[i].empty())
            out.errors.push_back({slices[i].path, errors[i]});
    if (!misfits.empty() && out.type != PixelType::Rgb8) {
        // Some files did not fit the first one's representation: the volume becomes rescaled float.
        std::vector<std::uint8_t> floats(n * sizeof(float));
        for (std::size_t i = 0; i < slices.size(); ++i) {
            const std::size_t base = firstZ[i] * frame, values = frame * std::size_t(slices[i].frames);
            const auto m = misfits.find(i);
            for (std::size_t k = 0; k < values; ++k)
                put<float>(floats, base + k, m != misfits.end() ? double(m->second[k]) : out.value(base + k));
        }
        out.voxels.swap(floats);
        out.type = PixelType::Float32;
        out.slope = 1;
        out.intercept = 0;
    }
    return out;
}

LoadedSeries withModalityValues(const LoadedSeries& series)
{
    if (series.type == PixelType::Rgb8 || series.type == PixelType::Float32 ||
        (series.slope == 1 && series.intercept == 0))
        return series;
    const std::size_t n = series.dims.count();
    double lo = INFINITY, hi = -INFINITY;
    for (std::size_t i = 0; i < n; ++i) {
        const double v = series.value(i);
        lo = std::min(lo, v);
        hi = std::max(hi, v);
    }
    PixelType type = PixelType::Float32;
    if (series.slope == std::floor(series.slope) && series.intercept == std::floor(series.intercept))
        for (PixelType t : {PixelType::UInt8, PixelType::Int8, PixelType::UInt16, PixelType::Int16, PixelType::UInt32,
                            PixelType::Int32})
            if (fits(t, lo, hi)) {
                type = t;
                break;
            }
    LoadedSeries out;
    out.dims = series.dims;
    out.geometry = series.geometry;
    out.type = type;
    out.monochrome1 = series.monochrome1;
    out.window = series.window;
    out.photometric = series.photometric;
    out.errors = series.errors;
    out.voxels.resize(n * pixelBytes(type));
    for (std::size_t i = 0; i < n; ++i)
        store(type, out.voxels, i, series.value(i));
    return out;
}

}  // namespace camsight::dicom
