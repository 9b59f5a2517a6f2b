#include "core/dicom/FileDecode.h"

// Local
#include "core/dicom/Colour.h"
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
#include <type_traits>

namespace camsight::dicom {
namespace {

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

// Colour samples (RGB or YBR, 8, 16 or 32 bits, interleaved or planar) to interleaved 8-bit RGB: wider samples
// keep their top 8 stored bits.
Decoded decodeColour(const SliceInfo& s, DcmElement* px, Decoded d, bool ybr422, std::vector<std::uint8_t>* rgb)
{
    const std::size_t pixels = std::size_t(s.rows) * std::size_t(s.columns), perFrame = pixels * 3;
    rgb->resize(perFrame * std::size_t(s.frames));
    Uint8* b = nullptr;
    Uint16* w16 = nullptr;
    const std::uint8_t* bytes = nullptr;
    if (d.bitsAllocated == 8 && px->getUint8Array(b).good() && b)
        bytes = b;
    else if (d.bitsAllocated != 8 && px->getUint16Array(w16).good() && w16)
        bytes = reinterpret_cast<const std::uint8_t*>(w16);  // host-order words
    if (!bytes) {
        d.error = "cannot read the pixel data";
        return d;
    }
    if (ybr422) {
        for (int f = 0; f < s.frames; ++f)
            expandYbr422(bytes + std::size_t(f) * pixels * 2, s.rows, s.columns, rgb->data() + std::size_t(f) * perFrame);
        ybrFullToRgb(rgb->data(), rgb->size() / 3);
        d.photometric = "RGB";
        return d;
    }
    const int shift = std::max(0, d.bitsStored - 8);
    auto sample = [&](std::size_t i) -> std::uint8_t {
        std::uint32_t raw = 0;
        if (d.bitsAllocated == 8)
            raw = bytes[i];
        else if (d.bitsAllocated == 16)
            raw = reinterpret_cast<const std::uint16_t*>(bytes)[i];
        else  // 32-bit samples in host-order 16-bit words, low word first (little-endian data)
            std::memcpy(&raw, bytes + i * 4, 4);
        const std::int64_t v = storedValue(raw, d);
        return std::uint8_t(std::clamp<std::int64_t>(v >> shift, 0, 255));
    };
    for (int f = 0; f < s.frames; ++f) {
        const std::size_t base = std::size_t(f) * perFrame;
        std::uint8_t* dst = rgb->data() + base;
        for (std::size_t p = 0; p < pixels; ++p)
            for (std::size_t k = 0; k < 3; ++k)
                dst[p * 3 + k] = sample(base + (d.planar ? k * pixels + p : p * 3 + k));
    }
    if (d.photometric == "YBR_FULL") {
        ybrFullToRgb(rgb->data(), rgb->size() / 3);
        d.photometric = "RGB";
    }
    return d;
}

}  // namespace

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
    Palette palette;
    const bool isPalette = d.photometric == "PALETTE COLOR";
    if (isPalette) {
        if (d.samples != 1) {
            d.error = "PALETTE COLOR with SamplesPerPixel " + std::to_string(d.samples);
            return d;
        }
        const std::string e = readPalette(ds, d.pixelRepresentation == 1, &palette);
        if (!e.empty()) {
            d.error = e;
            return d;
        }
    }
    const bool ybr422 = d.photometric == "YBR_FULL_422" && !xfer.isEncapsulated();
    if (ybr422 && (d.bitsAllocated != 8 || s.columns % 2 != 0)) {
        d.error = "YBR_FULL_422 needs 8-bit samples and an even number of columns";
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
    // YBR_FULL_422 stores two luma and one pair of chroma samples per two pixels.
    const std::size_t storedSamples = ybr422 ? total / 3 * 2 : total;
    if (d.floatData) {
        Float32* f = nullptr;
        if (px->getFloat32Array(f).bad() || !f || px->getLength() < total * 4) {
            d.error = "float pixel data shorter than " + std::to_string(total) + " values";
            return d;
        }
        grey->assign(f, f + total);
        return d;
    }
    const std::size_t bytesNeeded = storedSamples * std::size_t(d.bitsAllocated / 8);
    if (px->getLength() < bytesNeeded) {
        d.error = "pixel data holds " + std::to_string(px->getLength()) + " bytes, " + std::to_string(s.rows) + "x" +
                  std::to_string(s.columns) + "x" + std::to_string(s.frames) + " needs " + std::to_string(bytesNeeded) +
                  " (truncated)";
        return d;
    }
    if (rgbLike)
        return decodeColour(s, px, d, ybr422, rgb);
    grey->resize(total);
    auto fromWords = [&](const auto* words) {
        using Word = std::remove_cv_t<std::remove_pointer_t<decltype(words)>>;
        if (d.bitsStored == int(8 * sizeof(Word)) && d.highBit == d.bitsStored - 1) {
            // Every bit is a value bit (the common case): a plain conversion, signed or not.
            if (d.pixelRepresentation == 1) {
                const auto* w = reinterpret_cast<const std::make_signed_t<Word>*>(words);
                for (std::size_t i = 0; i < total; ++i)
                    (*grey)[i] = double(w[i]);
            } else {
                for (std::size_t i = 0; i < total; ++i)
                    (*grey)[i] = double(words[i]);
            }
            return;
        }
        for (std::size_t i = 0; i < total; ++i)
            (*grey)[i] = double(storedValue(words[i], d));
    };
    if (d.bitsAllocated == 8) {
        Uint8* b = nullptr;
        if (px->getUint8Array(b).bad() || !b) {
            d.error = "cannot read the pixel bytes";
            return d;
        }
        fromWords(b);
    } else if (d.bitsAllocated == 16) {
        Uint16* w16 = nullptr;
        if (px->getUint16Array(w16).bad() || !w16) {
            d.error = "cannot read the pixel words";
            return d;
        }
        fromWords(w16);
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
        std::vector<std::uint32_t> words(total);
        std::memcpy(words.data(), bytes, total * 4);
        fromWords(words.data());
    }
    if (isPalette) {  // indices through the tables: the file becomes RGB
        rgb->resize(total * 3);
        for (std::size_t i = 0; i < total; ++i)
            palette.apply(std::int64_t((*grey)[i]), rgb->data() + i * 3);
        grey->clear();
        d.photometric = "RGB";
        d.samples = 3;
        return d;
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

}  // namespace camsight::dicom
