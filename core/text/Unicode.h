#pragma once
// Std
#include <string>
#include <string_view>

namespace camsight::text {

/// UTF-8 to code points; every byte that does not start a valid sequence becomes U+FFFD.
std::u32string decodeUtf8(std::string_view bytes);
std::string encodeUtf8(std::u32string_view text);

// Character classes as Python's `regex` module (\p{L}, \p{N}, \s) and `str.isspace` see them. The tables are
// generated from Python by scripts/gen-unicode-tables.py.
bool isLetter(char32_t c);
bool isNumber(char32_t c);
bool isRegexSpace(char32_t c);
bool isPythonSpace(char32_t c);

/// Python's `str.lower()`: full case mapping (U+0130 becomes "i" + U+0307) and the final-sigma rule.
std::u32string pythonLower(std::u32string_view text);

/// Unicode normalization form C (canonical decomposition, canonical ordering, canonical composition).
std::u32string nfc(std::u32string_view text);

/// ftfy's width map: U+3000 and the halfwidth and fullwidth forms U+FF01..U+FFEF as their NFKC forms. Returns the
/// number of code points written to `out` (0: unchanged).
int fullwidthToNormal(char32_t c, char32_t out[2]);

/// An HTML5 named character reference (`html.entities.html5`, names with or without the ';'), or ftfy's all-capital
/// variants when `ftfyUpper`. Returns the number of code points written (0: not an entity; at most 3).
int htmlEntity(std::string_view name, char32_t out[3], bool ftfyUpper = false);

/// html.unescape's handling of a numeric reference: Windows-1252 replacements for C1 numbers, U+FFFD for surrogates
/// and numbers past U+10FFFF, nothing for the code points HTML forbids. Returns the number of code points written.
int htmlNumericReference(unsigned long long number, char32_t out[1]);

}  // namespace camsight::text
