#pragma once
// Std
#include <cmath>
#include <cstdio>
#include <iterator>
#include <string>

namespace camsight::cli {

/// Minimal JSON text helpers for the CLI's machine-readable output. NaN and infinities become null,
/// as JSON has no literal for them.
inline std::string jsonString(const std::string& s)
{
    std::string out = "\"";
    for (char c : s) {
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\t': out += "\\t"; break;
        case '\r': out += "\\r"; break;
        default:
            if (static_cast<unsigned char>(c) < 0x20) {
                char buf[8];
                std::snprintf(buf, sizeof buf, "\\u%04x", c);
                out += buf;
            } else {
                out += c;
            }
        }
    }
    return out + "\"";
}

inline std::string jsonNumber(double v)
{
    if (!std::isfinite(v))
        return "null";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return buf;
}

/// A JSON array of numbers (NaN and infinities as null).
template <class It>
std::string jsonNumbers(It begin, It end)
{
    std::string out = "[";
    for (It it = begin; it != end; ++it)
        out += (it == begin ? "" : ", ") + jsonNumber(double(*it));
    return out + "]";
}

template <class Container>
std::string jsonNumbers(const Container& c)
{
    return jsonNumbers(std::begin(c), std::end(c));
}

}  // namespace camsight::cli
