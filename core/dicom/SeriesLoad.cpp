#include "core/dicom/SeriesLoad.h"

// Local
#include "core/dicom/DicomLibrary.h"
#include "core/dicom/FileDecode.h"
#include "core/dicom/ParallelFiles.h"

// Std
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <mutex>
#include <type_traits>

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

// Calls f(T{}) with the C++ type of a grey pixel type; returns fallback for Rgb8. The one switch over the grey
// types: fetching, storing and range checks all go through it.
template <class R, class F>
R withGreyType(PixelType t, R fallback, F&& f)
{
    switch (t) {
    case PixelType::UInt8: return f(std::uint8_t{});
    case PixelType::Int8: return f(std::int8_t{});
    case PixelType::UInt16: return f(std::uint16_t{});
    case PixelType::Int16: return f(std::int16_t{});
    case PixelType::UInt32: return f(std::uint32_t{});
    case PixelType::Int32: return f(std::int32_t{});
    case PixelType::Float32: return f(float{});
    case PixelType::Rgb8: break;
    }
    return fallback;
}

// Stored value i of a grey volume.
double fetch(PixelType t, const std::vector<std::uint8_t>& bytes, std::size_t i)
{
    return withGreyType(t, 0.0, [&](auto tag) { return get<decltype(tag)>(bytes, i); });
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
    return withGreyType(t, true, [&](auto tag) {
        using T = decltype(tag);
        return std::is_floating_point_v<T> ||
               (lo >= double(std::numeric_limits<T>::lowest()) && hi <= double(std::numeric_limits<T>::max()));
    });
}

// Stores a run of values, the type switched on once (the buffer is allocated for the type: pixelBytes).
void storeAll(PixelType t, std::uint8_t* bytes, std::size_t first, const double* v, std::size_t count)
{
    withGreyType(t, 0, [&](auto tag) {
        using T = decltype(tag);
        T* dst = reinterpret_cast<T*>(bytes) + first;
        for (std::size_t k = 0; k < count; ++k)
            dst[k] = static_cast<T>(v[k]);
        return 0;
    });
}

// fetch() for a run of values.
void fetchAll(PixelType t, const std::uint8_t* bytes, std::size_t first, std::size_t count, double* v)
{
    withGreyType(t, 0, [&](auto tag) {
        const auto* src = reinterpret_cast<const decltype(tag)*>(bytes) + first;
        for (std::size_t k = 0; k < count; ++k)
            v[k] = double(src[k]);
        return 0;
    });
}

// Smallest and largest of n values (a plain loop: minmax_element tracks positions and does not vectorise; NaN only
// in float data, which Float32 holds whatever the range).
std::pair<double, double> valueRange(const double* v, std::size_t n)
{
    double lo = n ? v[0] : 0.0, hi = lo;
    for (std::size_t k = 1; k < n; ++k) {
        lo = v[k] < lo ? v[k] : lo;
        hi = v[k] > hi ? v[k] : hi;
    }
    return {lo, hi};
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
        const auto [lo, hi] = valueRange(g.data(), g.empty() ? 0 : values);
        const bool sameRescale = out.type == PixelType::Float32 ? (d.floatData || (d.slope == 1 && d.intercept == 0))
                                                                : (d.slope == out.slope && d.intercept == out.intercept);
        if (d.samples == 1 && sameRescale && fits(out.type, lo, hi)) {
            storeAll(out.type, out.voxels.data(), base, g.data(), values);
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
            // One decode buffer per thread, kept from file to file (a fresh 2 MB buffer per file costs page faults).
            thread_local std::vector<double> g;
            thread_local std::vector<std::uint8_t> c;
            g.clear();
            c.clear();
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

LoadedSeries withModalityValues(LoadedSeries series)
{
    if (series.type == PixelType::Rgb8 || series.type == PixelType::Float32 ||
        (series.slope == 1 && series.intercept == 0))
        return series;
    const std::size_t n = series.dims.count(), run = series.dims.x * series.dims.y;
    std::vector<double> values(run);
    double lo = INFINITY, hi = -INFINITY;
    for (std::size_t first = 0; first < n; first += run) {
        const std::size_t count = std::min(run, n - first);
        fetchAll(series.type, series.voxels.data(), first, count, values.data());
        for (std::size_t k = 0; k < count; ++k)
            values[k] = values[k] * series.slope + series.intercept;
        const auto [a, b] = valueRange(values.data(), count);
        lo = std::min(lo, a);
        hi = std::max(hi, b);
    }
    PixelType type = PixelType::Float32;
    if (series.slope == std::floor(series.slope) && series.intercept == std::floor(series.intercept))
        for (PixelType t : {PixelType::UInt8, PixelType::Int8, PixelType::UInt16, PixelType::Int16, PixelType::UInt32,
                            PixelType::Int32})
            if (fits(t, lo, hi)) {
                type = t;
                break;
            }
    // Same width (CT: UInt16 or Int16 stored, Int16 out): rewritten in place, slice by slice; else a new buffer.
    const bool inPlace = pixelBytes(type) == pixelBytes(series.type);
    std::vector<std::uint8_t> converted;
    if (!inPlace)
        converted.resize(n * pixelBytes(type));
    std::uint8_t* dst = inPlace ? series.voxels.data() : converted.data();
    for (std::size_t first = 0; first < n; first += run) {
        const std::size_t count = std::min(run, n - first);
        fetchAll(series.type, series.voxels.data(), first, count, values.data());
        for (std::size_t k = 0; k < count; ++k)
            values[k] = values[k] * series.slope + series.intercept;
        storeAll(type, dst, first, values.data(), count);
    }
    if (!inPlace)
        series.voxels.swap(converted);
    series.type = type;
    series.slope = 1;
    series.intercept = 0;
    return series;
}

}  // namespace camsight::dicom
