#include "core/io/Npy.h"

// Std
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>
#include <stdexcept>

namespace camsight::io {
namespace {

struct TypeInfo {
    NpyType type;
    const char* descr;
    std::size_t size;
};

constexpr TypeInfo kTypes[] = {
    {NpyType::Bool, "|b1", 1},    {NpyType::UInt8, "|u1", 1},   {NpyType::Int8, "|i1", 1},
    {NpyType::UInt16, "<u2", 2},  {NpyType::Int16, "<i2", 2},   {NpyType::UInt32, "<u4", 4},
    {NpyType::Int32, "<i4", 4},   {NpyType::Int64, "<i8", 8},   {NpyType::Float32, "<f4", 4},
    {NpyType::Float64, "<f8", 8},
};

const TypeInfo& info(NpyType t)
{
    for (const auto& i : kTypes)
        if (i.type == t)
            return i;
    throw std::logic_error("unknown NpyType");
}

[[noreturn]] void fail(const std::string& path, const std::string& what)
{
    throw std::runtime_error(path + ": " + what);
}

// Value of `key` in the header dict, as the raw text up to the next top-level comma or brace.
std::string headerField(const std::string& header, const std::string& key, const std::string& path)
{
    const std::string quoted = "'" + key + "'";
    auto pos = header.find(quoted);
    if (pos == std::string::npos)
        fail(path, "not a valid .npy header (no " + quoted + ")");
    pos = header.find(':', pos + quoted.size());
    if (pos == std::string::npos)
        fail(path, "not a valid .npy header (no value for " + quoted + ")");
    ++pos;
    while (pos < header.size() && header[pos] == ' ')
        ++pos;
    int depth = 0;
    std::size_t end = pos;
    for (; end < header.size(); ++end) {
        const char c = header[end];
        if (c == '(' || c == '[')
            ++depth;
        else if (c == ')' || c == ']')
            --depth;
        if (depth == 0 && (c == ',' || c == '}'))
            break;
        if (depth < 0)
            break;
    }
    return header.substr(pos, end - pos);
}

template <class Out>
std::vector<Out> convert(const NpyArray& a)
{
    const std::size_t n = a.count();
    std::vector<Out> out(n);
    const std::uint8_t* p = a.bytes.data();
    auto load = [&](auto tag) {
        using T = decltype(tag);
        for (std::size_t i = 0; i < n; ++i) {
            T v;
            std::memcpy(&v, p + i * sizeof(T), sizeof(T));
            out[i] = static_cast<Out>(v);
        }
    };
    switch (a.type) {
    case NpyType::Bool:
    case NpyType::UInt8: load(std::uint8_t{}); break;
    case NpyType::Int8: load(std::int8_t{}); break;
    case NpyType::UInt16: load(std::uint16_t{}); break;
    case NpyType::Int16: load(std::int16_t{}); break;
    case NpyType::UInt32: load(std::uint32_t{}); break;
    case NpyType::Int32: load(std::int32_t{}); break;
    case NpyType::Int64: load(std::int64_t{}); break;
    case NpyType::Float32: load(float{}); break;
    case NpyType::Float64: load(double{}); break;
    }
    return out;
}

}  // namespace

std::size_t NpyArray::count() const
{
    std::size_t n = 1;
    for (auto s : shape)
        n *= s;
    return n;
}

std::size_t NpyArray::itemSize() const { return info(type).size; }
std::vector<double> NpyArray::toDouble() const { return convert<double>(*this); }
std::vector<float> NpyArray::toFloat() const { return convert<float>(*this); }

std::string NpyArray::shapeString() const
{
    std::string s = "(";
    for (std::size_t i = 0; i < shape.size(); ++i)
        s += (i ? ", " : "") + std::to_string(shape[i]);
    if (shape.size() == 1)
        s += ",";
    return s + ")";
}

NpyArray readNpy(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        fail(path, "cannot open file");
    char magic[8];
    if (!in.read(magic, 8) || std::memcmp(magic, "\x93NUMPY", 6) != 0)
        fail(path, "not a .npy file (bad magic)");
    const int major = static_cast<unsigned char>(magic[6]);
    std::uint32_t headerLen = 0;
    if (major == 1) {
        unsigned char b[2];
        if (!in.read(reinterpret_cast<char*>(b), 2))
            fail(path, "truncated .npy header");
        headerLen = b[0] | (b[1] << 8);
    } else if (major == 2 || major == 3) {
        unsigned char b[4];
        if (!in.read(reinterpret_cast<char*>(b), 4))
            fail(path, "truncated .npy header");
        headerLen = b[0] | (b[1] << 8) | (b[2] << 16) | (std::uint32_t(b[3]) << 24);
    } else {
        fail(path, "unsupported .npy format version " + std::to_string(major));
    }
    if (headerLen > (1u << 20))
        fail(path, "implausible .npy header length " + std::to_string(headerLen));
    std::string header(headerLen, '\0');
    if (!in.read(header.data(), headerLen))
        fail(path, "truncated .npy header");

    NpyArray a;
    std::string descr = headerField(header, "descr", path);
    if (descr.size() < 2 || (descr.front() != '\'' && descr.front() != '"'))
        fail(path, "unsupported dtype " + descr + " (structured arrays are not supported)");
    descr = descr.substr(1, descr.size() - 2);
    if (descr.size() == 3 && descr[0] == '=')
        descr[0] = '<';
    if (descr.size() == 3 && descr[2] == '1' && descr[0] == '<')
        descr[0] = '|';
    bool found = false;
    for (const auto& t : kTypes)
        if (descr == t.descr) {
            a.type = t.type;
            found = true;
        }
    if (!found)
        fail(path, "unsupported dtype '" + descr + "' (expected little-endian bool, integer or float)");
    if (headerField(header, "fortran_order", path).rfind("False", 0) != 0)
        fail(path, "Fortran-ordered arrays are not supported; save with np.ascontiguousarray");

    const std::string shapeText = headerField(header, "shape", path);
    std::size_t pos = shapeText.find('(');
    if (pos == std::string::npos)
        fail(path, "malformed shape " + shapeText);
    ++pos;
    std::size_t total = 1;
    while (pos < shapeText.size()) {
        while (pos < shapeText.size() && (shapeText[pos] == ' ' || shapeText[pos] == ','))
            ++pos;
        if (pos >= shapeText.size() || shapeText[pos] == ')')
            break;
        std::size_t used = 0;
        unsigned long long dim = 0;
        try {
            dim = std::stoull(shapeText.substr(pos), &used);
        } catch (const std::exception&) {
            fail(path, "malformed shape " + shapeText);
        }
        if (dim != 0 && total > std::numeric_limits<std::size_t>::max() / 16 / dim)
            fail(path, "shape " + shapeText + " is too large");
        total *= dim;
        a.shape.push_back(dim);
        pos += used;
    }
    const std::size_t nbytes = total * a.itemSize();
    in.seekg(0, std::ios::end);
    const auto fileSize = static_cast<std::size_t>(in.tellg());
    const std::size_t dataStart = (major == 1 ? 10 : 12) + headerLen;
    if (fileSize < dataStart + nbytes)
        fail(path, "truncated: shape " + a.shapeString() + " needs " + std::to_string(nbytes) + " bytes of data, file has " +
                       std::to_string(fileSize - dataStart));
    in.seekg(static_cast<std::streamoff>(dataStart));
    a.bytes.resize(nbytes);
    if (nbytes && !in.read(reinterpret_cast<char*>(a.bytes.data()), static_cast<std::streamsize>(nbytes)))
        fail(path, "read error");
    return a;
}

void writeNpy(const std::string& path, const NpyArray& a)
{
    if (a.bytes.size() != a.count() * a.itemSize())
        throw std::invalid_argument(path + ": array data size does not match shape " + a.shapeString());
    std::ostringstream h;
    h << "{'descr': '" << info(a.type).descr << "', 'fortran_order': False, 'shape': " << a.shapeString() << ", }";
    std::string header = h.str();
    // Pad so that the data starts at a multiple of 64 bytes; the header ends with a newline.
    const std::size_t unpadded = 10 + header.size() + 1;
    header.append((64 - unpadded % 64) % 64, ' ');
    header += '\n';
    std::ofstream out(path, std::ios::binary);
    if (!out)
        fail(path, "cannot open for writing");
    const unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, static_cast<unsigned char>(header.size() & 0xff),
                                   static_cast<unsigned char>(header.size() >> 8)};
    out.write(reinterpret_cast<const char*>(pre), 10);
    out.write(header.data(), static_cast<std::streamsize>(header.size()));
    out.write(reinterpret_cast<const char*>(a.bytes.data()), static_cast<std::streamsize>(a.bytes.size()));
    if (!out)
        fail(path, "write error (disk full?)");
}

namespace {
template <class T>
void writeBuffer(const std::string& path, NpyType type, const T* data, const std::vector<std::size_t>& shape)
{
    NpyArray a;
    a.type = type;
    a.shape = shape;
    a.bytes.resize(a.count() * sizeof(T));
    if (!a.bytes.empty())
        std::memcpy(a.bytes.data(), data, a.bytes.size());
    writeNpy(path, a);
}
}  // namespace

void writeNpy(const std::string& path, const float* data, const std::vector<std::size_t>& shape)
{
    writeBuffer(path, NpyType::Float32, data, shape);
}

void writeNpy(const std::string& path, const std::uint8_t* data, const std::vector<std::size_t>& shape)
{
    writeBuffer(path, NpyType::UInt8, data, shape);
}

}  // namespace camsight::io
