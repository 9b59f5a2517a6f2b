#include "core/text/TextClean.h"

// Local
#include "core/text/Unicode.h"

// Std
#include <algorithm>
#include <string>

namespace camsight::text {
namespace {

bool isAsciiDigit(char32_t c) { return c >= '0' && c <= '9'; }
bool isHexDigit(char32_t c) { return isAsciiDigit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f'); }
bool isAsciiAlnum(char32_t c) { return isAsciiDigit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z'); }

std::string asciiName(std::u32string_view s)
{
    std::string out;
    for (const char32_t c : s) {
        if (c >= 0x80)
            return {};  // no entity name holds other characters
        out += char(c);
    }
    return out;
}

unsigned long long parseNumber(std::u32string_view digits, int base)
{
    unsigned long long v = 0;
    for (const char32_t c : digits) {
        const unsigned d = isAsciiDigit(c) ? unsigned(c - '0') : unsigned((c | 0x20) - 'a' + 10);
        v = v > (1ull << 40) ? v : v * unsigned(base) + d;  // saturates far past U+10FFFF
    }
    return v;
}

// Windows-1252 bytes 0x80..0x9F; the five undefined ones stay as the C1 code point (ftfy's "sloppy" codec).
constexpr char32_t kCp1252High[32] = {0x20AC, 0x81,   0x201A, 0x192,  0x201E, 0x2026, 0x2020, 0x2021,
                                      0x2C6,  0x2030, 0x160,  0x2039, 0x152,  0x8D,   0x17D,  0x8F,
                                      0x90,   0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
                                      0x2DC,  0x2122, 0x161,  0x203A, 0x153,  0x9D,   0x17E,  0x178};

int sloppyCp1252Byte(char32_t c)
{
    if (c < 0x80 || (c >= 0xA0 && c <= 0xFF))
        return int(c);
    for (int i = 0; i < 32; ++i)
        if (kCp1252High[i] == c)
            return 0x80 + i;
    return -1;
}

// UTF-8 that was decoded as Latin-1 or Windows-1252: re-encode and decode again when that gives valid UTF-8 with at
// least one multi-byte sequence.
bool fixMojibake(std::u32string& text)
{
    if (std::all_of(text.begin(), text.end(), [](char32_t c) { return c < 0x80; }))
        return false;
    for (const bool latin1 : {true, false}) {
        std::string bytes;
        bool encodable = true;
        for (const char32_t c : text) {
            const int b = latin1 ? (c <= 0xFF ? int(c) : -1) : sloppyCp1252Byte(c);
            if (b < 0) {
                encodable = false;
                break;
            }
            bytes += char(b);
        }
        if (!encodable)
            continue;
        const std::u32string decoded = decodeUtf8(bytes);
        if (std::find(decoded.begin(), decoded.end(), char32_t(0xFFFD)) != decoded.end() || decoded == text)
            return false;
        text = decoded;
        return true;
    }
    return false;
}

// The byte a Latin-1 or Windows-1252 character stands for in a UTF-8 continuation position (0x80..0xBF), or -1.
int continuationByte(char32_t c)
{
    if (c >= 0x80 && c <= 0xBF)
        return int(c);
    const int b = sloppyCp1252Byte(c);
    return b >= 0x80 && b <= 0xBF ? b : -1;
}

// ftfy's decode_inconsistent_utf8, for Latin-1 and Windows-1252: runs of lead + continuation characters that spell
// UTF-8 (and do not follow another continuation character) are decoded where they sit, inside text that as a whole
// cannot be re-encoded.
bool fixEmbeddedMojibake(std::u32string& text)
{
    std::u32string out;
    bool changed = false;
    for (std::size_t i = 0; i < text.size();) {
        std::string bytes;
        std::size_t j = i;
        const bool afterContinuation = i > 0 && continuationByte(text[i - 1]) >= 0;
        while (!afterContinuation && j < text.size()) {
            const char32_t lead = text[j];
            const int more = lead >= 0xC2 && lead <= 0xDF ? 1 : lead >= 0xE0 && lead <= 0xEF ? 2 : lead == 0xF0 || lead == 0xF3 ? 3 : 0;
            if (more == 0 || j + std::size_t(more) >= text.size())
                break;
            std::string seq(1, char(lead));
            for (int k = 1; k <= more && seq.size() == std::size_t(k); ++k) {
                const int b = j + std::size_t(k) < text.size() ? continuationByte(text[j + std::size_t(k)]) : -1;
                if (b >= 0)
                    seq += char(b);
            }
            if (seq.size() != std::size_t(more) + 1)
                break;
            bytes += seq;
            j += std::size_t(more) + 1;
        }
        const std::u32string decoded = bytes.empty() ? std::u32string() : decodeUtf8(bytes);
        if (!bytes.empty() && j - i < text.size() && decoded.find(char32_t(0xFFFD)) == std::u32string::npos) {
            out += decoded;
            changed = true;
            i = j;
        } else {
            out += text[i];
            ++i;
        }
    }
    if (changed)
        text = out;
    return changed;
}

// ftfy.fixes.unescape_html: `&#?[0-9A-Za-z]{1,24};` only.
std::u32string ftfyUnescape(std::u32string_view s)
{
    std::u32string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '&') {
            out += s[i];
            continue;
        }
        std::size_t p = i + 1;
        const bool numeric = p < s.size() && s[p] == '#';
        if (numeric)
            ++p;
        std::size_t e = p;
        while (e < s.size() && isAsciiAlnum(s[e]))
            ++e;
        if (e == p || e - p > 24 || e >= s.size() || s[e] != ';') {
            out += s[i];
            continue;
        }
        const std::u32string_view ref = s.substr(i, e + 1 - i);
        char32_t value[3];
        const std::string name = asciiName(ref.substr(1));
        int n = htmlEntity(name, value);
        if (n == 0)
            n = htmlEntity(name, value, true);
        if (n > 0) {
            out.append(value, std::size_t(n));
        } else if (numeric) {
            const std::u32string u = htmlUnescape(ref);
            out += u.find(';') == std::u32string::npos ? u : std::u32string(ref);
        } else {
            out += ref;
        }
        i = e;
    }
    return out;
}

bool isFtfyControl(char32_t c)
{
    return c <= 0x08 || c == 0x0B || (c >= 0x0E && c <= 0x1F) || c == 0x7F || (c >= 0x206A && c <= 0x206F) ||
           c == 0xFEFF || (c >= 0xFFF9 && c <= 0xFFFC);
}

// ftfy's per-character fixers, in its order: C1 controls, ligatures, width, quotes, line breaks (terminal escapes and
// control characters follow in fixSegment).
std::u32string fixCharacters(std::u32string_view s)
{
    static const struct {
        char32_t from;
        const char32_t* to;
    } kLigatures[] = {{0x132, U"IJ"},  {0x133, U"ij"},  {0x149, U"\u02BCn"}, {0x1C4, U"D\u017D"}, {0x1C5, U"D\u017E"},
                      {0x1C6, U"d\u017E"}, {0x1C7, U"LJ"}, {0x1C8, U"Lj"}, {0x1C9, U"lj"}, {0x1CA, U"NJ"},
                      {0x1CB, U"Nj"},  {0x1CC, U"nj"},  {0x1F1, U"DZ"},  {0x1F2, U"Dz"},  {0x1F3, U"dz"},
                      {0xFB00, U"ff"}, {0xFB01, U"fi"}, {0xFB02, U"fl"}, {0xFB03, U"ffi"}, {0xFB04, U"ffl"},
                      {0xFB05, U"\u017Ft"}, {0xFB06, U"st"}};
    std::u32string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        char32_t c = s[i];
        if (c >= 0x80 && c <= 0x9F)
            c = kCp1252High[c - 0x80];
        const auto lig = std::find_if(std::begin(kLigatures), std::end(kLigatures), [&](const auto& l) { return l.from == c; });
        if (lig != std::end(kLigatures)) {
            out += lig->to;
            continue;
        }
        char32_t wide[2];
        if (const int n = fullwidthToNormal(c, wide)) {
            out.append(wide, std::size_t(n));
            continue;
        }
        if (c == 0x2BC || (c >= 0x2018 && c <= 0x201B))
            c = '\'';
        else if (c >= 0x201C && c <= 0x201F)
            c = '"';
        if (c == '\r') {
            if (i + 1 < s.size() && s[i + 1] == '\n')
                ++i;
            c = '\n';
        } else if (c == 0x2028 || c == 0x2029 || c == 0x85) {
            c = '\n';
        }
        out += c;
    }
    return out;
}

std::u32string removeTerminalEscapesAndControls(std::u32string_view s)
{
    std::u32string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == 0x1B && i + 1 < s.size() && s[i + 1] == '[') {
            std::size_t e = i + 2;
            while (e < s.size() && (isAsciiDigit(s[e]) || s[e] == ';'))
                ++e;
            if (e < s.size() && ((s[e] | 0x20) >= 'a' && (s[e] | 0x20) <= 'z')) {
                i = e;
                continue;
            }
        }
        if (!isFtfyControl(s[i]))
            out += s[i];
    }
    return out;
}

std::u32string fixSegment(std::u32string text, bool unescape)
{
    for (int round = 0; round < 16; ++round) {
        const std::u32string before = text;
        if (unescape)
            text = ftfyUnescape(text);
        while (fixMojibake(text) || fixEmbeddedMojibake(text)) {
        }
        text = nfc(removeTerminalEscapesAndControls(fixCharacters(text)));
        if (text == before)
            break;
    }
    return text;
}

std::u32string_view stripPython(std::u32string_view s)
{
    while (!s.empty() && isPythonSpace(s.front()))
        s.remove_prefix(1);
    while (!s.empty() && isPythonSpace(s.back()))
        s.remove_suffix(1);
    return s;
}

}  // namespace

std::u32string htmlUnescape(std::u32string_view s)
{
    if (s.find('&') == std::u32string_view::npos)
        return std::u32string(s);
    std::u32string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '&' || i + 1 >= s.size()) {
            out += s[i];
            continue;
        }
        std::size_t p = i + 1;
        if (s[p] == '#') {
            // `#[0-9]+;?` first, then `#[xX][0-9a-fA-F]+;?`.
            const bool dec = p + 1 < s.size() && isAsciiDigit(s[p + 1]);
            const bool hex = !dec && p + 2 < s.size() && (s[p + 1] | 0x20) == 'x' && isHexDigit(s[p + 2]);
            if (!dec && !hex) {
                out += s[i];
                continue;
            }
            const std::size_t d = dec ? p + 1 : p + 2;
            std::size_t e = d;
            while (e < s.size() && (dec ? isAsciiDigit(s[e]) : isHexDigit(s[e])))
                ++e;
            char32_t value[1];
            if (htmlNumericReference(parseNumber(s.substr(d, e - d), dec ? 10 : 16), value) == 1)
                out += value[0];
            i = (e < s.size() && s[e] == ';') ? e : e - 1;
            continue;
        }
        std::size_t e = p;
        static const std::u32string_view kStop = U"\t\n\f <&#;";
        while (e < s.size() && e - p < 32 && kStop.find(s[e]) == std::u32string_view::npos)
            ++e;
        if (e == p) {
            out += s[i];
            continue;
        }
        if (e < s.size() && s[e] == ';')
            ++e;
        const std::u32string_view ref = s.substr(p, e - p);
        // The whole name, else its longest entity prefix of at least two characters (no entity name is shorter).
        char32_t value[3];
        int n = 0;
        std::size_t used = ref.size();
        for (std::size_t x = ref.size(); n == 0 && x >= 2; --x) {
            const std::string name = asciiName(ref.substr(0, x));
            n = name.empty() ? 0 : htmlEntity(name, value);
            used = x;
        }
        if (n == 0) {
            out += s[i];
            out += ref;
        } else {
            out.append(value, std::size_t(n));
            out += ref.substr(used);
        }
        i = e - 1;
    }
    return out;
}

std::u32string fixText(std::u32string_view text)
{
    std::u32string out;
    bool unescape = true;  // ftfy's "auto": off from the first line that holds a '<' on
    for (std::size_t pos = 0; pos < text.size();) {
        const std::size_t nl = text.find('\n', pos);
        const std::size_t end = nl == std::u32string_view::npos ? text.size() : nl + 1;
        const std::u32string_view segment = text.substr(pos, end - pos);
        if (unescape && segment.find('<') != std::u32string_view::npos)
            unescape = false;
        out += fixSegment(std::u32string(segment), unescape);
        pos = end;
    }
    return out;
}

std::u32string clipCleanText(std::u32string_view text)
{
    const std::u32string basic(stripPython(htmlUnescape(htmlUnescape(fixText(text)))));
    std::u32string collapsed;
    bool inSpace = false;
    for (const char32_t c : basic) {
        if (isRegexSpace(c)) {
            if (!inSpace)
                collapsed += ' ';
            inSpace = true;
        } else {
            collapsed += c;
            inSpace = false;
        }
    }
    return pythonLower(stripPython(collapsed));
}

}  // namespace camsight::text
