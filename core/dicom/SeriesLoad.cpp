#include "core/dicom/SeriesLoad.h"

// Local
#include "core/dicom/DicomLibrary.h"
#include "core/dicom/ParallelFiles.h"
#include "core/dicom/Jpeg2000.h"

// DCMTK
#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcpixel.h>
#include <dcmtk/dcmdata/dcpixseq.h>
#include <dcmtk/dcmdata/dcpxitem.h>
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

// JPEG 2000 (DCMTK 3.6.7 has no decoder): the frames' fragments through OpenJPEG.
Decoded decodeJpeg2000File(const SliceInfo& s, DcmDataset* ds, Decoded d, std::vector<double>* grey,
                           std::vector<std::uint8_t>* rgb)
{
    DcmElement* px = nullptr;
    DcmPixelSequence* seq = nullptr;
    if (ds->findAndGetElement(DCM_PixelData, px).bad() || !px ||
        static_cast<DcmPixelData*>(px)->getEncapsulatedRepresentation(ds->getOriginalXfer(), nullptr, seq).bad() || !seq) {
        d.error = "JPEG 2000 pixel data without fragments";
        return d;
    }
    // Fragments after the offset table; a frame starts at each fragment that opens a codestream (SOC + SIZ) or a
    // JP2 signature box.
    std::vector<std::vector<std::uint8_t>> frames;
    for (unsigned long i = 1; i < seq->card(); ++i) {
        DcmPixelItem* item = nullptr;
        Uint8* bytes = nullptr;
        if (seq->getItem(item, i).bad() || !item || item->getUint8Array(bytes).bad())
            continue;
        const std::size_t len = item->getLength();
        if (!bytes || len == 0)
            continue;
        const bool starts = (len >= 4 && bytes[0] == 0xFF && bytes[1] == 0x4F && bytes[2] == 0xFF && bytes[3] == 0x51) ||
                            (len >= 12 && bytes[3] == 0x0C && bytes[4] == 'j' && bytes[5] == 'P');
        if (starts || frames.empty())
            frames.emplace_back();
        frames.back().insert(frames.back().end(), bytes, bytes + len);
    }
    if (int(frames.size()) < s.frames) {
        d.error = "JPEG 2000 data holds " + std::to_string(frames.size()) + " frame(s), the header promises " +
                  std::to_string(s.frames) + " (truncated)";
        return d;
    }
    const std::size_t plane = std::size_t(s.rows) * std::size_t(s.columns);
    for (int f = 0; f < s.frames; ++f) {
        J2kImage img;
        try {
            img = decodeJpeg2000(frames[std::size_t(f)].data(), frames[std::size_t(f)].size());
        } catch (const std::runtime_error& e) {
            d.error = std::string("cannot decode JPEG 2000: ") + e.what();
            return d;
        }
        if (img.width != s.columns || img.height != s.rows || img.components != d.samples) {
            d.error = "JPEG 2000 image is " + std::to_string(img.width) + "x" + std::to_string(img.height) + "x" +
                      std::to_string(img.components) + ", the header says " + std::to_string(s.columns) + "x" +
                      std::to_string(s.rows) + "x" + std::to_string(d.samples);
            return d;
        }
        if (d.samples == 3) {
            rgb->resize(plane * 3 * std::size_t(s.frames));
            for (std::size_t k = 0; k < plane * 3; ++k)
                (*rgb)[std::size_t(f) * plane * 3 + k] = static_cast<std::uint8_t>(std::clamp(img.samples[k], 0, 255));
        } else {
            // The DICOM header rules how samples are read (as GDCM and pydicom do): where the codestream's sign
            // disagrees with PixelRepresentation, the BitsStored-bit pattern is reinterpreted.
            const bool reinterpret = img.isSigned != (d.pixelRepresentation == 1);
            grey->resize(plane * std::size_t(s.frames));
            for (std::size_t k = 0; k < plane; ++k)
                (*grey)[std::size_t(f) * plane + k] =
                    reinterpret ? double(storedValue(static_cast<std::uint32_t>(img.samples[k]), d)) : double(img.samples[k]);
        }
    }
    if (d.samples == 3)
        d.photometric = "RGB";  // YBR_RCT / YBR_ICT: OpenJPEG undoes the component transform
    return d;
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
    bool isJpeg2000 = false;
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
        isJpeg2000 = uid == "1.2.840.10008.1.2.4.90" || uid == "1.2.840.10008.1.2.4.91";
        if (!known && !isJpeg2000) {
            d.error = std::string("unsupported transfer syntax ") + xfer.getXferName() + " (" + uid + ")";
            return d;
        }
        if (!isJpeg2000 && (ds->chooseRepresentation(EXS_LittleEndianExplicit, nullptr).bad() || !ds->canWriteXfer(EXS_LittleEndianExplicit))) {
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
    if (isJpeg2000)
        return decodeJpeg2000File(s, ds, d, grey, rgb);
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

}  // namespace camsight::dicom
