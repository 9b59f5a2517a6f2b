// Text clean-up pieces against values printed by CPython 3.11 (html.unescape, str.lower, unicodedata.normalize) and
// ftfy 6.3.1 (fix_text), written next to each case. They need no ../shared data.
#include "core/text/TextClean.h"
#include "core/text/Unicode.h"

// Third-party
#include <gtest/gtest.h>

namespace camsight::text {
namespace {

std::string unescape(const std::string& s) { return encodeUtf8(htmlUnescape(decodeUtf8(s))); }
std::string lower(const std::string& s) { return encodeUtf8(pythonLower(decodeUtf8(s))); }
std::string fix(const std::string& s) { return encodeUtf8(fixText(decodeUtf8(s))); }
std::u32string nfcOf(const std::u32string& s) { return nfc(s); }

TEST(Utf8, RoundTripsAndReplacesInvalidBytes)
{
    const std::string s = "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\xAB\x81";  // a é € 🫁
    EXPECT_EQ(decodeUtf8(s), U"a\u00E9\u20AC\U0001FAC1");
    EXPECT_EQ(encodeUtf8(decodeUtf8(s)), s);
    // Python's bytes.decode("utf-8", "replace") gives the same ten U+FFFD.
    EXPECT_EQ(decodeUtf8("\xC3(\xC0\x80\xED\xA0\x80\xF4\x90\x80\x80x"), U"\uFFFD(\uFFFD\uFFFD\uFFFD\uFFFD\uFFFD\uFFFD\uFFFD\uFFFD\uFFFDx");
}

TEST(HtmlUnescape, EqualsPython)
{
    const std::pair<const char*, const char*> cases[] = {
        {"&amp; &lt;3", "& <3"},
        {"&ampx", "&x"},
        {"&amp", "&"},
        {"&#65;&#x42;&#X43", "ABC"},
        {"&#128;", "\u20AC"},
        {"&#0;", "\uFFFD"},
        {"&#xD800;", "\uFFFD"},
        {"&#99999999999;", "\uFFFD"},
        {"&#1;", ""},
        {"&notit;", "\u00ACit;"},
        {"&notin;", "\u2209"},
        {"a&#;b", "a&#;b"},
        {"&;", "&;"},
        {"&caf\u00E9;", "&caf\u00E9;"},
        {"&amp\u00E9", "&\u00E9"},
        {"&#x;", "&#x;"},
        {"&&lt;", "&<"},
        {"&ThisIsNotAnEntityButItIsVeryLongIndeed;", "&ThisIsNotAnEntityButItIsVeryLongIndeed;"},
    };
    for (const auto& [in, want] : cases)
        EXPECT_EQ(unescape(in), want) << in;
}

TEST(PythonLower, FullMappingAndFinalSigma)
{
    EXPECT_EQ(lower("\u039F\u0394\u039F\u03A3"), "\u03BF\u03B4\u03BF\u03C2");      // ΟΔΟΣ -> οδος
    EXPECT_EQ(lower("\u0130stanbul"), "i\u0307stanbul");                         // İ -> i + combining dot
    EXPECT_EQ(lower("\u03A3\u0391 \u03A3"), "\u03C3\u03B1 \u03C3");              // no cased letter before: σ
    EXPECT_EQ(lower("\u0391.\u03A3"), "\u03B1.\u03C2");                          // '.' is case-ignorable
    EXPECT_EQ(lower("\u0391'\u03A3'"), "\u03B1'\u03C2'");
    EXPECT_EQ(lower("\u00C4RZTLICHER"), "\u00E4rztlicher");
    EXPECT_EQ(lower("\u01C5"), "\u01C6");                                        // title-case digraph
    EXPECT_EQ(lower("\uAB70"), "\uAB70");                                        // Cherokee small letter stays
}

TEST(Nfc, ComposesReordersAndKeepsExclusions)
{
    EXPECT_EQ(nfcOf(U"e\u0301"), U"\u00E9");
    EXPECT_EQ(nfcOf(U"\u1100\u1161\u11A8"), U"\uAC01");          // Hangul L V T
    EXPECT_EQ(nfcOf(U"a\u0323\u0302"), U"\u1EAD");               // two marks, composed in order
    EXPECT_EQ(nfcOf(U"\u212B"), U"\u00C5");                      // Angstrom sign: singleton decomposition
    EXPECT_EQ(nfcOf(U"\u0344"), U"\u0308\u0301");                // excluded from composition
    EXPECT_EQ(nfcOf(U"\u00C5\u0301"), U"\u01FA");
    EXPECT_EQ(nfcOf(U"q\u0307\u0323"), U"q\u0323\u0307");        // canonical reordering, nothing to compose
}

TEST(FixText, EqualsFtfyOnItsFixers)
{
    const std::pair<const char*, const char*> cases[] = {
        {"patient\u2019s", "patient's"},
        {"\uFF23\uFF34 scan", "CT scan"},
        {"\uFB01nding", "finding"},
        {"caf\u00C3\u00A9", "caf\u00E9"},
        {"cafe\u0301", "caf\u00E9"},
        {"&amp;lt; <b>", "&amp;lt; <b>"},  // a '<': HTML is left alone
        {"caf\u00E9", "caf\u00E9"},
        {"x\x1B[31mred\x1B[0m", "xred"},
        {"\u201Cquoted\u201D", "\"quoted\""},
        {"l\u0092esprit", "l'esprit"},
        {"P&EACUTE;REZ", "P\u00C9REZ"},
        {"\u00C3\u00BCber \u00C3\u00A4rzte", "\u00FCber \u00E4rzte"},
        {"line1\r\nline2\u2028x", "line1\nline2\nx"},
    };
    for (const auto& [in, want] : cases)
        EXPECT_EQ(fix(in), want) << in;
    const char32_t withNul[] = {'a', 0, 'b', 0xFEFF, 'c'};
    EXPECT_EQ(fixText(std::u32string_view(withNul, 5)), U"abc");
}

}  // namespace
}  // namespace camsight::text
