#pragma once
// Std
#include <string>
#include <string_view>

namespace camsight::text {

/// Python's `html.unescape`: numeric references (with or without ';'), HTML5 named references, and for names not
/// followed by ';' the longest entity prefix (`&ampx` -> `&x`).
std::u32string htmlUnescape(std::u32string_view text);

/// The part of ftfy 6.3's `fix_text` (default settings) that changes short prompts, applied per line until nothing
/// changes: HTML entities ending in ';' (also ftfy's all-capital names) unless the text holds a '<'; UTF-8 read as
/// Latin-1 or Windows-1252 ("cafÃ©" -> "café") when the whole text re-encodes to valid multi-byte UTF-8; C1 controls as
/// Windows-1252; Latin ligatures; halfwidth/fullwidth forms; curly quotes; line breaks; terminal escapes; control
/// characters; NFC. Not reproduced: ftfy's badness heuristic for partly broken text, mojibake through other code pages
/// (Windows-1250/1251/1253/1254/1257, ISO-8859-2, MacRoman, CP437), its UTF-8 variants and byte A0 restoration.
std::u32string fixText(std::u32string_view text);

/// CLIP's `basic_clean` (ftfy, html.unescape twice, strip), `whitespace_clean` (runs of \s to one space, strip) and
/// `lower()`: the text the BPE pre-tokenizer sees.
std::u32string clipCleanText(std::u32string_view text);

}  // namespace camsight::text
