#include "core/dicom/Colour.h"

// DCMTK
#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcitem.h>

// Std
#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace camsight::dicom {
namespace {

void expandInto(const std::vector<std::uint32_t>& w, std::size_t offset, std::size_t maxSegments,
                std::vector<std::uint32_t>* lut, int depth, std::size_t* visits)
{
    if (depth > 8)
        throw std::runtime_error("segmented LUT: indirect segments nest too deep");
    std::size_t segments = 0;
    // A trailing pad word may follow the last segment: every segment is longer than two words.
    while (offset + 1 < w.size() && segments < maxSegments) {
        // Empty segments copied by indirect ones could otherwise loop without the table growing.
        if (++*visits > 1000000)
            throw std::runtime_error("segmented LUT: more than a million segments");
        const std::uint32_t op = w[offset], n = w[offset + 1];
        offset += 2;
        if (op == 0) {  // discrete: n values
            if (offset + n > w.size())
                throw std::runtime_error("segmented LUT: a discrete segment runs past the data");
            lut->insert(lut->end(), w.begin() + std::ptrdiff_t(offset), w.begin() + std::ptrdiff_t(offset + n));
            offset += n;
        } else if (op == 1) {  // linear: n values from the previous one (excluded) to y1 (included)
            if (lut->empty())
                throw std::runtime_error("segmented LUT: a linear segment comes first");
            if (offset >= w.size())
                throw std::runtime_error("segmented LUT: a linear segment runs past the data");
            const double y0 = lut->back(), y1 = w[offset++];
            for (std::uint32_t i = 1; i <= n; ++i)
                lut->push_back(std::uint32_t(std::nearbyint(y0 + (y1 - y0) * double(i) / double(n))));
        } else if (op == 2) {  // indirect: n segments copied from an offset (two words, low first)
            if (lut->empty())
                throw std::runtime_error("segmented LUT: an indirect segment comes first");
            if (offset + 1 >= w.size())
                throw std::runtime_error("segmented LUT: an indirect segment runs past the data");
            const std::size_t target = std::size_t(w[offset]) | (std::size_t(w[offset + 1]) << 16);
            offset += 2;
            if (target >= w.size())
                throw std::runtime_error("segmented LUT: an indirect segment points past the data");
            expandInto(w, target, n, lut, depth + 1, visits);
        } else {
            throw std::runtime_error("segmented LUT: unknown segment type " + std::to_string(op));
        }
        if (lut->size() > 65536)
            throw std::runtime_error("segmented LUT: more than 65536 entries");
        ++segments;
    }
}

std::string readTable(DcmItem* ds, const DcmTagKey& descriptor, const DcmTagKey& data, const DcmTagKey& segmented,
                      const char* colour, std::int64_t* first, std::vector<std::uint8_t>* out)
{
    const std::string what = std::string(colour) + " palette table";
    Uint16 d[3] = {0, 0, 0};
    for (unsigned long k = 0; k < 3; ++k)
        if (ds->findAndGetUint16(descriptor, d[k], k).bad())
            return what + ": missing or short descriptor";
    const std::size_t entries = d[0] == 0 ? 65536 : d[0];
    const int bits = d[2];
    if (bits != 8 && bits != 16)
        return what + ": " + std::to_string(bits) + " bits per entry (8 or 16 allowed)";
    *first = d[1];
    std::vector<std::uint32_t> values;
    const Uint16* words = nullptr;
    unsigned long count = 0;
    if (ds->findAndGetUint16Array(data, words, &count).good() && words && count > 0) {
        // 16-bit words as the standard says; 8-bit tables written as packed bytes (the data is half as long) are
        // read byte by byte, as pydicom and GDCM do.
        if (bits == 8 && count * 2 >= entries && count < entries) {
            const Uint8* bytes = reinterpret_cast<const Uint8*>(words);  // host order of the words: bytes in file order
            values.assign(bytes, bytes + entries);
        } else {
            values.assign(words, words + std::min<std::size_t>(count, entries));
        }
    } else if (ds->findAndGetUint16Array(segmented, words, &count).good() && words && count > 0) {
        try {
            // Segmented data is in units of the entry size: 8-bit tables are byte streams.
            const Uint8* bytes = reinterpret_cast<const Uint8*>(words);
            values = expandSegmentedLut(bits == 8 ? std::vector<std::uint32_t>(bytes, bytes + 2 * count)
                                                  : std::vector<std::uint32_t>(words, words + count));
        } catch (const std::runtime_error& e) {
            return what + ": " + e.what();
        }
    } else {
        return what + ": no table data";
    }
    if (values.size() < entries)
        return what + ": " + std::to_string(values.size()) + " entries, the descriptor says " + std::to_string(entries);
    out->resize(entries);
    for (std::size_t i = 0; i < entries; ++i)
        (*out)[i] = std::uint8_t(bits == 16 ? (values[i] >> 8) & 0xff : values[i] & 0xff);
    return {};
}

}  // namespace

std::vector<std::uint32_t> expandSegmentedLut(const std::vector<std::uint32_t>& words)
{
    std::vector<std::uint32_t> lut;
    std::size_t visits = 0;
    expandInto(words, 0, SIZE_MAX, &lut, 0, &visits);
    return lut;
}

std::string readPalette(DcmItem* ds, bool signedIndices, Palette* out)
{
    std::int64_t first[3] = {0, 0, 0};
    std::string e = readTable(ds, DCM_RedPaletteColorLookupTableDescriptor, DCM_RedPaletteColorLookupTableData,
                              DCM_SegmentedRedPaletteColorLookupTableData, "red", &first[0], &out->red);
    if (e.empty())
        e = readTable(ds, DCM_GreenPaletteColorLookupTableDescriptor, DCM_GreenPaletteColorLookupTableData,
                      DCM_SegmentedGreenPaletteColorLookupTableData, "green", &first[1], &out->green);
    if (e.empty())
        e = readTable(ds, DCM_BluePaletteColorLookupTableDescriptor, DCM_BluePaletteColorLookupTableData,
                      DCM_SegmentedBluePaletteColorLookupTableData, "blue", &first[2], &out->blue);
    if (!e.empty())
        return e;
    if (out->red.size() != out->green.size() || out->red.size() != out->blue.size() || first[0] != first[1] ||
        first[0] != first[2])
        return "the red, green and blue palette tables differ in length or first mapped value";
    // The first mapped value is SS when the pixel data is signed (C.7.6.3.1.5).
    out->firstMapped = signedIndices ? std::int64_t(std::int16_t(std::uint16_t(first[0]))) : first[0];
    return {};
}

void ybrFullToRgb(std::uint8_t* p, std::size_t count)
{
    auto clamp8 = [](double v) { return static_cast<std::uint8_t>(std::clamp(std::lround(v), 0L, 255L)); };
    for (std::size_t i = 0; i < count; ++i, p += 3) {
        const double y = p[0], cb = p[1] - 128.0, cr = p[2] - 128.0;
        p[0] = clamp8(y + 1.402 * cr);
        p[1] = clamp8(y - 0.344136 * cb - 0.714136 * cr);
        p[2] = clamp8(y + 1.772 * cb);
    }
}

void expandYbr422(const std::uint8_t* src, int rows, int columns, std::uint8_t* dst)
{
    // Each row holds columns / 2 groups of four bytes (odd widths are not allowed for 4:2:2).
    for (int r = 0; r < rows; ++r)
        for (int c = 0; c + 1 < columns; c += 2) {
            const std::uint8_t* g = src + (std::size_t(r) * std::size_t(columns) + std::size_t(c)) * 2;
            std::uint8_t* o = dst + (std::size_t(r) * std::size_t(columns) + std::size_t(c)) * 3;
            o[0] = g[0], o[1] = g[2], o[2] = g[3];
            o[3] = g[1], o[4] = g[2], o[5] = g[3];
        }
}

}  // namespace camsight::dicom
