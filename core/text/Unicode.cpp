#include "core/text/Unicode.h"

// Std
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <vector>

namespace camsight::text {
namespace {

struct CodeRange {
    char32_t first, last;
};
struct LowerMapping {
    char32_t from;
    char32_t to[2];
};
struct CombiningClass {
    char32_t c;
    std::uint8_t ccc;
};
struct Decomposition {
    char32_t c;
    char32_t to[4];
};
struct Composition {
    char32_t first, second, composite;
};
struct WidthMapping {
    char32_t from;
    char32_t to[2];
};
struct Entity {
    const char* name;
    char32_t value[3];
};
struct CharrefReplacement {
    char32_t number, value;
};

#include "core/text/UnicodeTables.inc"

template <std::size_t N>
bool inRanges(const CodeRange (&table)[N], char32_t c)
{
    const auto* it = std::upper_bound(std::begin(table), std::end(table), c,
                                      [](char32_t v, const CodeRange& r) { return v < r.first; });
    return it != std::begin(table) && c <= (it - 1)->last;
}

template <typename T, std::size_t N, typename Key>
const T* findSorted(const T (&table)[N], char32_t c, Key key)
{
    const auto* it = std::lower_bound(std::begin(table), std::end(table), c,
                                      [&](const T& e, char32_t v) { return key(e) < v; });
    return it != std::end(table) && key(*it) == c ? it : nullptr;
}

int copyChars(const char32_t* from, int capacity, char32_t* out)
{
    int n = 0;
    while (n < capacity && from[n] != 0) {
        out[n] = from[n];
        ++n;
    }
    return n;
}

int combiningClass(char32_t c)
{
    if (c < 0x300)
        return 0;
    const auto* e = findSorted(kCombiningClass, c, [](const CombiningClass& x) { return x.c; });
    return e ? e->ccc : 0;
}

// Hangul syllables decompose and compose by arithmetic (Unicode chapter 3.12).
constexpr char32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr int kLCount = 19, kVCount = 21, kTCount = 28, kNCount = kVCount * kTCount, kSCount = kLCount * kNCount;

void decompose(char32_t c, std::u32string& out)
{
    if (c >= kSBase && c < kSBase + kSCount) {
        const int s = int(c - kSBase);
        out += char32_t(kLBase + s / kNCount);
        out += char32_t(kVBase + (s % kNCount) / kTCount);
        if (s % kTCount != 0)
            out += char32_t(kTBase + s % kTCount);
        return;
    }
    const auto* d = c < 0xC0 ? nullptr : findSorted(kDecompositions, c, [](const Decomposition& x) { return x.c; });
    if (!d) {
        out += c;
        return;
    }
    char32_t buf[4];
    out.append(buf, std::size_t(copyChars(d->to, 4, buf)));
}

char32_t compose(char32_t a, char32_t b)
{
    if (a >= kLBase && a < kLBase + kLCount && b >= kVBase && b < kVBase + kVCount)
        return kSBase + char32_t((int(a - kLBase) * kVCount + int(b - kVBase)) * kTCount);
    if (a >= kSBase && a < kSBase + kSCount && (a - kSBase) % kTCount == 0 && b > kTBase && b < kTBase + kTCount)
        return a + (b - kTBase);
    const auto* it = std::lower_bound(std::begin(kCompositions), std::end(kCompositions), std::make_pair(a, b),
                                      [](const Composition& e, const std::pair<char32_t, char32_t>& v) {
                                          return std::make_pair(e.first, e.second) < v;
                                      });
    return it != std::end(kCompositions) && it->first == a && it->second == b ? it->composite : 0;
}

bool caseIgnorable(char32_t c) { return inRanges(kCaseIgnorable, c); }

// CPython's final-sigma test: a cased letter before (case-ignorable characters skipped) and none after.
bool finalSigma(std::u32string_view s, std::size_t i)
{
    std::size_t j = i;
    while (j > 0 && caseIgnorable(s[j - 1]))
        --j;
    if (j == 0 || !inRanges(kCasedNotIgnorable, s[j - 1]))
        return false;
    std::size_t k = i + 1;
    while (k < s.size() && caseIgnorable(s[k]))
        ++k;
    return k == s.size() || !inRanges(kCasedNotIgnorable, s[k]);
}

}  // namespace

std::u32string decodeUtf8(std::string_view bytes)
{
    std::u32string out;
    out.reserve(bytes.size());
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
    const std::size_t n = bytes.size();
    for (std::size_t i = 0; i < n;) {
        const unsigned char b = p[i];
        int len = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : (b >> 3) == 0x1E ? 4 : 0;
        char32_t c = len == 1 ? b : len == 2 ? (b & 0x1F) : len == 3 ? (b & 0x0F) : (b & 0x07);
        bool ok = len > 0 && i + std::size_t(len) <= n;
        for (int k = 1; ok && k < len; ++k) {
            ok = (p[i + std::size_t(k)] & 0xC0) == 0x80;
            c = (c << 6) | (p[i + std::size_t(k)] & 0x3F);
        }
        // Overlong forms, surrogates and numbers past U+10FFFF are not UTF-8.
        static const char32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
        if (ok && (c < kMin[len] || (c >= 0xD800 && c <= 0xDFFF) || c > 0x10FFFF))
            ok = false;
        if (!ok) {
            out += char32_t(0xFFFD);
            ++i;
            continue;
        }
        out += c;
        i += std::size_t(len);
    }
    return out;
}

std::string encodeUtf8(std::u32string_view text)
{
    std::string out;
    out.reserve(text.size());
    for (const char32_t c : text) {
        if (c < 0x80) {
            out += char(c);
        } else if (c < 0x800) {
            out += char(0xC0 | (c >> 6));
            out += char(0x80 | (c & 0x3F));
        } else if (c < 0x10000) {
            out += char(0xE0 | (c >> 12));
            out += char(0x80 | ((c >> 6) & 0x3F));
            out += char(0x80 | (c & 0x3F));
        } else {
            out += char(0xF0 | (c >> 18));
            out += char(0x80 | ((c >> 12) & 0x3F));
            out += char(0x80 | ((c >> 6) & 0x3F));
            out += char(0x80 | (c & 0x3F));
        }
    }
    return out;
}

bool isLetter(char32_t c)
{
    if (c < 0x80)
        return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
    return inRanges(kLetters, c);
}

bool isNumber(char32_t c) { return c < 0x80 ? (c >= '0' && c <= '9') : inRanges(kNumbers, c); }
bool isRegexSpace(char32_t c) { return inRanges(kRegexSpaces, c); }
bool isPythonSpace(char32_t c) { return inRanges(kPythonSpaces, c); }

std::u32string pythonLower(std::u32string_view text)
{
    std::u32string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char32_t c = text[i];
        if (c < 0x80) {
            out += (c >= 'A' && c <= 'Z') ? c + 32 : c;
            continue;
        }
        if (c == 0x3A3) {
            out += finalSigma(text, i) ? char32_t(0x3C2) : char32_t(0x3C3);
            continue;
        }
        const auto* m = findSorted(kLower, c, [](const LowerMapping& x) { return x.from; });
        if (!m) {
            out += c;
            continue;
        }
        char32_t buf[2];
        out.append(buf, std::size_t(copyChars(m->to, 2, buf)));
    }
    return out;
}

std::u32string nfc(std::u32string_view text)
{
    if (std::all_of(text.begin(), text.end(), [](char32_t c) { return c < 0x300; }))
        return std::u32string(text);
    std::u32string d;
    d.reserve(text.size() + 8);
    for (const char32_t c : text)
        decompose(c, d);
    // Canonical ordering: runs of non-starters sorted by class, stably.
    for (std::size_t i = 0; i < d.size();) {
        if (combiningClass(d[i]) == 0) {
            ++i;
            continue;
        }
        std::size_t j = i;
        while (j < d.size() && combiningClass(d[j]) != 0)
            ++j;
        std::stable_sort(d.begin() + std::ptrdiff_t(i), d.begin() + std::ptrdiff_t(j),
                         [](char32_t a, char32_t b) { return combiningClass(a) < combiningClass(b); });
        i = j;
    }
    std::u32string out;
    out.reserve(d.size());
    std::ptrdiff_t starter = -1;
    int lastClass = 256;
    for (const char32_t c : d) {
        const int cls = combiningClass(c);
        if (starter >= 0 && (lastClass < cls || lastClass == 0)) {
            if (const char32_t composite = compose(out[std::size_t(starter)], c)) {
                out[std::size_t(starter)] = composite;
                continue;
            }
        }
        if (cls == 0)
            starter = std::ptrdiff_t(out.size());
        lastClass = cls;
        out += c;
    }
    return out;
}

int fullwidthToNormal(char32_t c, char32_t out[2])
{
    if (c != 0x3000 && (c < 0xFF01 || c > 0xFFEF))
        return 0;
    const auto* w = findSorted(kWidths, c, [](const WidthMapping& x) { return x.from; });
    return w ? copyChars(w->to, 2, out) : 0;
}

int htmlEntity(std::string_view name, char32_t out[3], bool ftfyUpper)
{
    const auto search = [&](const auto& table) {
        const auto* it = std::lower_bound(std::begin(table), std::end(table), name,
                                          [](const Entity& e, std::string_view v) { return std::string_view(e.name) < v; });
        return it != std::end(table) && std::string_view(it->name) == name ? copyChars(it->value, 3, out) : 0;
    };
    return ftfyUpper ? search(kFtfyUpperEntities) : search(kHtml5);
}

int htmlNumericReference(unsigned long long number, char32_t out[1])
{
    if (const auto* r = number <= 0xFFFFFFFFull ? findSorted(kInvalidCharrefs, char32_t(number),
                                                             [](const CharrefReplacement& x) { return x.number; })
                                                : nullptr) {
        out[0] = r->value;
        return 1;
    }
    if ((number >= 0xD800 && number <= 0xDFFF) || number > 0x10FFFF) {
        out[0] = 0xFFFD;
        return 1;
    }
    if (std::binary_search(std::begin(kInvalidCodepoints), std::end(kInvalidCodepoints), char32_t(number)))
        return 0;
    out[0] = char32_t(number);
    return 1;
}

}  // namespace camsight::text
