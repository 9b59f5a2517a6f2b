#include "core/dicom/SeriesLoad.h"

// Local
#include "core/dicom/DicomLibrary.h"

// DCMTK
#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcpixel.h>
#include <dcmtk/dcmdata/dcxfer.h>

// Std
#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>

namespace camsight::dicom {
namespace {

struct Decoded {
    std::string error;
    int bitsAllocated = 16, bitsStored = 16, highBit = 15, pixelRepresentation = 0, samples = 1, planar = 0;
    std::string photometric;
    double slope = 1, intercept = 0;
    std::optional<image::WindowLevel> window;
    bool floatData = false;
};

double number(DcmItem* ds, const DcmTagKey& tag, double fallback)
{
    Float64 v = 0;
    return ds->findAndGetFloat64(tag, v).good() ? v : fallback;
}

// Extracts stored value v of a grey sample held in `bitsAllocated` bits: shift down to bit 0, keep BitsStored bits,
// sign-extend from the top one when signed.
std::int64_t storedValue(std::uint32_t raw, const Decoded& d)
{
    const int shift = d.highBit + 1 - d.bitsStored;
    std::uint32_t v = (raw >> (shift > 0 ? shift : 0));
    const std::uint32_t mask = d.bitsStored >= 32 ? 0xffffffffu : ((1u << d.bitsStored) - 1u);
    v &= mask;
    if (d.pixelRepresentation == 1 && d.bitsStored < 32 && (v >> (d.bitsStored - 1)) & 1u)
        return std::int64_t(v) - (std::int64_t(1) << d.bitsStored);
    if (d.pixelRepresentation == 1 && d.bitsStored == 32)
        return std::int32_t(v);
    return v;
}

// Decodes one file into `out` (frames x rows x columns x samples values, written as doubles of stored values for
// grey data, or bytes for RGB).
Decoded decodeFile(const SliceInfo& s, std::vector<double>* grey, std::vector<std::uint8_t>* rgb)
{
    Decoded d;
    DcmFileFormat ff;
    OFCondition st = ff.loadFile(s.path.c_str(), EXS_Unknown, EGL_noChange, DCM_MaxReadLength, ERM_autoDetect);
    if (st.bad()) {
        d.error = std::string("cannot read: ") + (st == EC_StreamNotifyClient ? "the file is truncated" : st.text());
        return d;
    }
    DcmDataset* ds = ff.getDataset();
    const DcmXfer xfer(ds->getOriginalXfer());
    // Transfer syntax first: what no decoder here handles is refused by name before anything else is looked at.
    const std::string metaTs = s.transferSyntaxUid;
    if (xfer.getXfer() == EXS_Unknown || (!metaTs.empty() && DcmXfer(metaTs.c_str()).getXfer() == EXS_Unknown)) {
        static const std::map<std::string, std::string> names = {
            {"1.2.840.10008.1.2.4.201", "High-Throughput JPEG 2000 Lossless"},
            {"1.2.840.10008.1.2.4.202", "High-Throughput JPEG 2000 with RPCL Options Lossless"},
            {"1.2.840.10008.1.2.4.203", "High-Throughput JPEG 2000"},
            {"1.2.840.10008.1.2.8.1", "Deflated Image Frame Compression"}};
        const auto n = names.find(metaTs);
        d.error = "unsupported transfer syntax " + (n != names.end() ? n->second : std::string("unknown")) + " (" + metaTs + ")";
        return d;
    }
    if (xfer.isEncapsulated() || xfer.getXfer() == EXS_DeflatedLittleEndianExplicit) {
        const std::string uid = xfer.getXferID();
        const bool known = uid.rfind("1.2.840.10008.1.2.4.5", 0) == 0 || uid.rfind("1.2.840.10008.1.2.4.7", 0) == 0 ||
                           uid.rfind("1.2.840.10008.1.2.4.8", 0) == 0 || uid == "1.2.840.10008.1.2.5" ||
                           uid == "1.2.840.10008.1.2.1.99" || uid.rfind("1.2.840.10008.1.2.4.6", 0) == 0;
        if (!known) {
            d.error = std::string("unsupported transfer syntax ") + xfer.getXferName() + " (" + uid + ")";
            return d;
        }
        if (ds->chooseRepresentation(EXS_LittleEndianExplicit, nullptr).bad() || !ds->canWriteXfer(EXS_LittleEndianExplicit)) {
            d.error = std::string("cannot decode ") + xfer.getXferName() + " (" + uid + ")";
            return d;
        }
    }
    Uint16 u = 0;
    if (ds->findAndGetUint16(DCM_BitsAllocated, u).good())
        d.bitsAllocated = u;
    d.bitsStored = ds->findAndGetUint16(DCM_BitsStored, u).good() ? u : d.bitsAllocated;
    d.highBit = ds->findAndGetUint16(DCM_HighBit, u).good() ? u : d.bitsStored - 1;
    d.pixelRepresentation = ds->findAndGetUint16(DCM_PixelRepresentation, u).good() ? u : 0;
    d.samples = ds->findAndGetUint16(DCM_SamplesPerPixel, u).good() ? u : 1;
    d.planar = ds->findAndGetUint16(DCM_PlanarConfiguration, u).good() ? u : 0;
    OFString photometric;
    ds->findAndGetOFString(DCM_PhotometricInterpretation, photometric);
    d.photometric = photometric.c_str();
    d.slope = number(ds, DCM_RescaleSlope, 1.0);
    d.intercept = number(ds, DCM_RescaleIntercept, 0.0);
    // Enhanced multi-frame objects: the rescale sits in the functional groups (shared, or per frame).
    std::vector<std::pair<double, double>> frameRescale;
    if (!ds->tagExists(DCM_RescaleSlope)) {
        DcmItem* shared = nullptr;
        DcmItem* pvt = nullptr;
        if (ds->findAndGetSequenceItem(DCM_SharedFunctionalGroupsSequence, shared, 0).good() && shared &&
            shared->findAndGetSequenceItem(DCM_PixelValueTransformationSequence, pvt, 0).good() && pvt) {
            d.slope = number(pvt, DCM_RescaleSlope, 1.0);
            d.intercept = number(pvt, DCM_RescaleIntercept, 0.0);
        }
        DcmSequenceOfItems* frames = nullptr;
        if (ds->findAndGetSequence(DCM_PerFrameFunctionalGroupsSequence, frames).good() && frames)
            for (unsigned long f = 0; f < frames->card(); ++f) {
                DcmItem* item = frames->getItem(f);
                if (item && item->findAndGetSequenceItem(DCM_PixelValueTransformationSequence, pvt, 0).good() && pvt)
                    frameRescale.emplace_back(number(pvt, DCM_RescaleSlope, 1.0), number(pvt, DCM_RescaleIntercept, 0.0));
            }
    }
    if (d.slope == 0)
        d.slope = 1;
    Float64 c = 0, w = 0;
    if (ds->findAndGetFloat64(DCM_WindowCenter, c).good() && ds->findAndGetFloat64(DCM_WindowWidth, w).good() && w >= 1)
        d.window = image::WindowLevel{c, w, false};
    if (d.bitsStored < 1 || d.bitsStored > d.bitsAllocated || d.highBit < d.bitsStored - 1 || d.highBit >= d.bitsAllocated ||
        (d.bitsAllocated != 8 && d.bitsAllocated != 16 && d.bitsAllocated != 32)) {
        d.error = "unsupported pixel layout: BitsAllocated " + std::to_string(d.bitsAllocated) + ", BitsStored " +
                  std::to_string(d.bitsStored) + ", HighBit " + std::to_string(d.highBit);
        return d;
    }
    const bool rgbLike = d.samples == 3;
    if (d.samples != 1 && !rgbLike) {
        d.error = "unsupported SamplesPerPixel " + std::to_string(d.samples);
        return d;
    }
    if (d.photometric == "PALETTE COLOR") {
        d.error = "PALETTE COLOR images are not supported yet";
        return d;
    }
    if (d.photometric == "YBR_FULL_422" && !xfer.isEncapsulated()) {
        d.error = "uncompressed YBR_FULL_422 (chroma-subsampled) images are not supported yet";
        return d;
    }
    // Decoders may change the photometric interpretation (DCMTK's JPEG decoder hands back RGB for YBR).
    if (ds->findAndGetOFString(DCM_PhotometricInterpretation, photometric).good())
        d.photometric = photometric.c_str();
    DcmElement* px = nullptr;
    if (ds->findAndGetElement(DCM_PixelData, px).bad() || !px) {
        if (ds->findAndGetElement(DCM_FloatPixelData, px).good() && px)
            d.floatData = true;
        else {
            d.error = "no pixel data";
            return d;
        }
    }
    const std::size_t perFrame = std::size_t(s.rows) * std::size_t(s.columns) * std::size_t(d.samples);
    const std::size_t total = perFrame * std::size_t(s.frames);
    if (d.floatData) {
        Float32* f = nullptr;
        if (px->getFloat32Array(f).bad() || !f || px->getLength() < total * 4) {
            d.error = "float pixel data shorter than " + std::to_string(total) + " values";
            return d;
        }
        grey->assign(f, f + total);
        return d;
    }
    const std::size_t bytesNeeded = total * std::size_t(d.bitsAllocated / 8);
    if (px->getLength() < bytesNeeded) {
        d.error = "pixel data holds " + std::to_string(px->getLength()) + " bytes, " + std::to_string(s.rows) + "x" +
                  std::to_string(s.columns) + "x" + std::to_string(s.frames) + " needs " + std::to_string(bytesNeeded) +
                  " (truncated)";
        return d;
    }
    if (rgbLike) {
        if (d.bitsAllocated != 8) {
            d.error = "colour images with " + std::to_string(d.bitsAllocated) + "-bit samples are not supported yet";
            return d;
        }
        Uint8* b = nullptr;
        if (px->getUint8Array(b).bad() || !b) {
            d.error = "cannot read the pixel bytes";
            return d;
        }
        rgb->resize(total);
        const std::size_t pixels = std::size_t(s.rows) * s.columns;
        for (int f = 0; f < s.frames; ++f) {
            const Uint8* src = b + std::size_t(f) * perFrame;
            std::uint8_t* dst = rgb->data() + std::size_t(f) * perFrame;
            for (std::size_t p = 0; p < pixels; ++p)
                for (int k = 0; k < 3; ++k)
                    dst[p * 3 + k] = d.planar ? src[std::size_t(k) * pixels + p] : src[p * 3 + k];
        }
        if (d.photometric == "YBR_FULL") {  // ITU-R BT.601 full range, as PS3.3 C.7.6.3.1.2 defines it
            for (std::size_t p = 0; p + 2 < rgb->size(); p += 3) {
                const double y = (*rgb)[p], cb = (*rgb)[p + 1] - 128.0, cr = (*rgb)[p + 2] - 128.0;
                auto clamp8 = [](double v) { return static_cast<std::uint8_t>(std::clamp(std::lround(v), 0L, 255L)); };
                (*rgb)[p] = clamp8(y + 1.402 * cr);
                (*rgb)[p + 1] = clamp8(y - 0.344136 * cb - 0.714136 * cr);
                (*rgb)[p + 2] = clamp8(y + 1.772 * cb);
            }
        }
        return d;
    }
    grey->resize(total);
    if (d.bitsAllocated == 8) {
        Uint8* b = nullptr;
        if (px->getUint8Array(b).bad() || !b) {
            d.error = "cannot read the pixel bytes";
            return d;
        }
        for (std::size_t i = 0; i < total; ++i)
            (*grey)[i] = double(storedValue(b[i], d));
    } else if (d.bitsAllocated == 16) {
        Uint16* w16 = nullptr;
        if (px->getUint16Array(w16).bad() || !w16) {
            d.error = "cannot read the pixel words";
            return d;
        }
        for (std::size_t i = 0; i < total; ++i)
            (*grey)[i] = double(storedValue(w16[i], d));
    } else {
        // 32-bit samples often sit in an OW element (16-bit words in host order): read the bytes, little-endian.
        Uint8* b = nullptr;
        Uint16* w16 = nullptr;
        const std::uint8_t* bytes = nullptr;
        if (px->getUint8Array(b).good() && b)
            bytes = b;
        else if (px->getUint16Array(w16).good() && w16)
            bytes = reinterpret_cast<const std::uint8_t*>(w16);
        if (!bytes) {
            d.error = "cannot read the pixel words";
            return d;
        }
        for (std::size_t i = 0; i < total; ++i) {
            std::uint32_t w;
            std::memcpy(&w, bytes + i * 4, 4);
            (*grey)[i] = double(storedValue(w, d));
        }
    }
    if (frameRescale.size() == std::size_t(s.frames) && s.frames > 1) {
        // Per-frame rescale: applied here, and the volume becomes float.
        const std::size_t plane = std::size_t(s.rows) * std::size_t(s.columns);
        for (int f = 0; f < s.frames; ++f)
            for (std::size_t k = 0; k < plane; ++k) {
                double& v = (*grey)[std::size_t(f) * plane + k];
                v = v * frameRescale[std::size_t(f)].first + frameRescale[std::size_t(f)].second;
            }
        d.slope = 1;
        d.intercept = 0;
        d.floatData = true;
    }
    return d;
}

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

double LoadedSeries::value(std::size_t i) const
{
    double v = 0;
    switch (type) {
    case PixelType::UInt8: v = get<std::uint8_t>(voxels, i); break;
    case PixelType::Int8: v = get<std::int8_t>(voxels, i); break;
    case PixelType::UInt16: v = get<std::uint16_t>(voxels, i); break;
    case PixelType::Int16: v = get<std::int16_t>(voxels, i); break;
    case PixelType::UInt32: v = get<std::uint32_t>(voxels, i); break;
    case PixelType::Int32: v = get<std::int32_t>(voxels, i); break;
    case PixelType::Float32: return get<float>(voxels, i);
    case PixelType::Rgb8:
        return 0.299 * voxels[i * 3] + 0.587 * voxels[i * 3 + 1] + 0.114 * voxels[i * 3 + 2];
    }
    return v * slope + intercept;
}

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
    // Decode every file (in parallel), keeping stored values until the common type is known.
    struct PerFile {
        Decoded d;
        std::vector<double> grey;
        std::vector<std::uint8_t> rgb;
    };
    const auto& slices = series.slices;
    std::vector<PerFile> files(slices.size());
    std::atomic<std::size_t> next{0}, done{0};
    std::mutex progressMutex;
    const int threads = options.threads > 0 ? options.threads : int(std::max(1u, std::thread::hardware_concurrency()));
    auto worker = [&]() {
        for (;;) {
            if (options.cancel && options.cancel->load())
                return;
            const std::size_t i = next++;
            if (i >= slices.size())
                return;
            files[i].d = decodeFile(slices[i], &files[i].grey, &files[i].rgb);
            const std::size_t n = ++done;
            if (options.progress) {
                std::lock_guard<std::mutex> lock(progressMutex);
                options.progress(n, slices.size());
            }
        }
    };
    std::vector<std::thread> pool;
    for (int t = 1; t < threads && std::size_t(t) < slices.size(); ++t)
        pool.emplace_back(worker);
    worker();
    for (auto& t : pool)
        t.join();
    if (options.cancel && options.cancel->load())
        return LoadedSeries{};
    // The common representation.
    const PerFile* first = nullptr;
    bool rescaleVaries = false, anyFloat = false, anyRgb = false;
    int bits = 8;
    bool signedData = false;
    for (std::size_t i = 0; i < files.size(); ++i) {
        if (!files[i].d.error.empty()) {
            out.errors.push_back({slices[i].path, files[i].d.error});
            continue;
        }
        const Decoded& d = files[i].d;
        if (!first)
            first = &files[i];
        rescaleVaries |= d.slope != first->d.slope || d.intercept != first->d.intercept;
        anyFloat |= d.floatData;
        anyRgb |= d.samples == 3;
        bits = std::max(bits, d.bitsStored);
        signedData |= d.pixelRepresentation == 1;
    }
    if (!first)
        throw std::runtime_error(out.errors.front().path + ": " + out.errors.front().message +
                                 (out.errors.size() > 1 ? " (and every other file of the series failed too)" : ""));
    out.photometric = first->d.photometric;
    out.monochrome1 = first->d.photometric == "MONOCHROME1";
    out.window = first->d.window;
    if (anyRgb)
        out.type = PixelType::Rgb8;
    else if (anyFloat || rescaleVaries)
        out.type = PixelType::Float32;
    else if (bits <= 8)
        out.type = signedData ? PixelType::Int8 : PixelType::UInt8;
    else if (bits <= 16)
        out.type = signedData ? PixelType::Int16 : PixelType::UInt16;
    else
        out.type = signedData ? PixelType::Int32 : PixelType::UInt32;
    if (out.type == PixelType::Float32) {
        out.slope = 1;
        out.intercept = 0;
    } else {
        out.slope = first->d.slope;
        out.intercept = first->d.intercept;
    }
    const std::size_t n = out.dims.count(), frame = out.dims.x * out.dims.y;
    out.voxels.assign(n * pixelBytes(out.type), 0);
    std::size_t z = 0;
    for (std::size_t i = 0; i < files.size(); ++i) {
        const std::size_t values = frame * std::size_t(slices[i].frames);
        const PerFile& f = files[i];
        if (f.d.error.empty()) {
            const std::size_t base = z * frame;
            if (out.type == PixelType::Rgb8) {
                if (f.rgb.empty()) {  // a grey slice in a colour series: repeat it
                    for (std::size_t k = 0; k < values; ++k)
                        std::fill_n(out.voxels.data() + (base + k) * 3, 3, static_cast<std::uint8_t>(f.grey[k]));
                } else {
                    std::copy(f.rgb.begin(), f.rgb.end(), out.voxels.begin() + std::ptrdiff_t(base * 3));
                }
            } else {
                for (std::size_t k = 0; k < values; ++k) {
                    const double v = out.type == PixelType::Float32 && !f.d.floatData ? f.grey[k] * f.d.slope + f.d.intercept
                                                                                     : f.grey[k];
                    switch (out.type) {
                    case PixelType::UInt8: put<std::uint8_t>(out.voxels, base + k, v); break;
                    case PixelType::Int8: put<std::int8_t>(out.voxels, base + k, v); break;
                    case PixelType::UInt16: put<std::uint16_t>(out.voxels, base + k, v); break;
                    case PixelType::Int16: put<std::int16_t>(out.voxels, base + k, v); break;
                    case PixelType::UInt32: put<std::uint32_t>(out.voxels, base + k, v); break;
                    case PixelType::Int32: put<std::int32_t>(out.voxels, base + k, v); break;
                    case PixelType::Float32: put<float>(out.voxels, base + k, v); break;
                    case PixelType::Rgb8: break;
                    }
                }
            }
        }
        z += std::size_t(slices[i].frames);
    }
    return out;
}

}  // namespace camsight::dicom
