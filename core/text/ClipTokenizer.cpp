#include "core/text/ClipTokenizer.h"

// Local
#include "core/text/TextClean.h"
#include "core/text/Unicode.h"

// Third-party
#include <zlib.h>

// Std
#include <array>
#include <limits>
#include <stdexcept>
#include <unordered_map>

namespace camsight::text {
namespace {

constexpr int kMergesUsed = 49152 - 256 - 2;  // simple_tokenizer reads lines [1, 49152 - 256 - 2 + 1)
constexpr std::u32string_view kStartText = U"<|startoftext|>";
constexpr std::u32string_view kEndText = U"<|endoftext|>";

// bytes_to_unicode(): printable Latin-1 bytes stand for themselves, the others for U+0100 upwards in byte order.
std::array<std::string, 256> byteSymbols()
{
    std::array<std::string, 256> out;
    int next = 256;
    for (int b = 0; b < 256; ++b) {
        const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
        out[std::size_t(b)] = encodeUtf8(std::u32string(1, char32_t(printable ? b : next++)));
    }
    return out;
}

std::vector<int> byteSymbolOrder()
{
    std::vector<int> order;
    for (int b = 0; b < 256; ++b)
        if ((b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF))
            order.push_back(b);
    for (int b = 0; b < 256; ++b)
        if (!((b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)))
            order.push_back(b);
    return order;
}

std::string gunzip(const std::string& path)
{
    gzFile f = gzopen(path.c_str(), "rb");
    if (!f)
        throw std::runtime_error(path + ": cannot open the CLIP vocabulary");
    std::string data;
    std::array<char, 1 << 16> buf{};
    int n = 0;
    while ((n = gzread(f, buf.data(), unsigned(buf.size()))) > 0)
        data.append(buf.data(), std::size_t(n));
    int err = Z_OK;
    const char* msg = gzerror(f, &err);
    const std::string reason = n < 0 ? std::string(msg ? msg : "read error") : std::string();
    gzclose(f);
    if (n < 0)
        throw std::runtime_error(path + ": not a readable gzip file (" + reason + ")");
    return data;
}

// The regex module's IGNORECASE folds U+017F (long s) to 's'; no other lower-case letter folds into ASCII.
char32_t foldAscii(char32_t c) { return c == 0x17F ? char32_t('s') : c; }

bool startsWithFolded(std::u32string_view text, std::size_t at, std::u32string_view literal)
{
    if (text.size() - at < literal.size())
        return false;
    for (std::size_t k = 0; k < literal.size(); ++k)
        if (foldAscii(text[at + k]) != literal[k])
            return false;
    return true;
}

// One match of `<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+`
// starting at `at`; 0 when no alternative matches there (whitespace).
std::size_t matchAt(std::u32string_view t, std::size_t at)
{
    for (const std::u32string_view lit : {kStartText, kEndText, std::u32string_view(U"'s"), std::u32string_view(U"'t"),
                                          std::u32string_view(U"'re"), std::u32string_view(U"'ve"),
                                          std::u32string_view(U"'m"), std::u32string_view(U"'ll"),
                                          std::u32string_view(U"'d")})
        if (startsWithFolded(t, at, lit))
            return lit.size();
    const char32_t c = t[at];
    if (isLetter(c)) {
        std::size_t e = at + 1;
        while (e < t.size() && isLetter(t[e]))
            ++e;
        return e - at;
    }
    if (isNumber(c))
        return 1;
    if (isRegexSpace(c))
        return 0;
    std::size_t e = at + 1;
    while (e < t.size() && !isRegexSpace(t[e]) && !isLetter(t[e]) && !isNumber(t[e]))
        ++e;
    return e - at;
}

std::vector<std::u32string> splitPretokens(const std::u32string& cleaned)
{
    std::vector<std::u32string> out;
    for (std::size_t i = 0; i < cleaned.size();) {
        const std::size_t n = matchAt(cleaned, i);
        if (n == 0) {
            ++i;
            continue;
        }
        out.push_back(cleaned.substr(i, n));
        i += n;
    }
    return out;
}

}  // namespace

struct ClipTokenizer::Impl {
    std::array<std::string, 256> symbols = byteSymbols();
    std::unordered_map<std::string, std::int64_t> ids;
    std::unordered_map<std::string, int> ranks;  // "first second"
};

ClipTokenizer::ClipTokenizer(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
ClipTokenizer::ClipTokenizer(ClipTokenizer&&) noexcept = default;
ClipTokenizer& ClipTokenizer::operator=(ClipTokenizer&&) noexcept = default;
ClipTokenizer::~ClipTokenizer() = default;

ClipTokenizer ClipTokenizer::load(const std::string& vocabPath)
{
    const std::string data = gunzip(vocabPath);
    auto impl = std::make_unique<Impl>();
    std::vector<std::string> vocab;
    for (const int b : byteSymbolOrder())
        vocab.push_back(impl->symbols[std::size_t(b)]);
    for (const int b : byteSymbolOrder())
        vocab.push_back(impl->symbols[std::size_t(b)] + "</w>");
    std::size_t pos = data.find('\n');
    if (pos == std::string::npos || data.compare(0, 9, "\"bpe_simp") != 0)
        throw std::runtime_error(vocabPath + ": not a CLIP BPE merge list (the header line is missing)");
    for (int line = 0; line < kMergesUsed; ++line) {
        const std::size_t start = pos + 1;
        pos = data.find('\n', start);
        const std::string text = data.substr(start, pos == std::string::npos ? std::string::npos : pos - start);
        const std::size_t space = text.find(' ');
        if (start >= data.size() || space == std::string::npos || space == 0 || space + 1 >= text.size() ||
            text.find(' ', space + 1) != std::string::npos)
            throw std::runtime_error(vocabPath + ": merge line " + std::to_string(line + 2) +
                                     " is not two symbols (the file holds fewer than " +
                                     std::to_string(kMergesUsed) + " merges or is not a CLIP merge list)");
        impl->ranks[text] = line;  // as the reference dict: a repeated pair keeps its last rank
        vocab.push_back(text.substr(0, space) + text.substr(space + 1));
    }
    vocab.push_back(encodeUtf8(kStartText));
    vocab.push_back(encodeUtf8(kEndText));
    for (std::size_t i = 0; i < vocab.size(); ++i)
        impl->ids[vocab[i]] = std::int64_t(i);
    return ClipTokenizer(std::move(impl));
}

std::string ClipTokenizer::clean(std::string_view utf8) { return encodeUtf8(clipCleanText(decodeUtf8(utf8))); }

std::vector<std::string> ClipTokenizer::pretokens(std::string_view utf8)
{
    std::vector<std::string> out;
    for (const auto& t : splitPretokens(clipCleanText(decodeUtf8(utf8))))
        out.push_back(encodeUtf8(t));
    return out;
}

std::vector<std::string> ClipTokenizer::bpe(std::string_view pretoken) const
{
    std::vector<std::string> word;
    for (const char b : pretoken)
        word.push_back(m_impl->symbols[static_cast<unsigned char>(b)]);
    if (word.empty())
        return word;
    word.back() += "</w>";
    while (word.size() > 1) {
        int best = std::numeric_limits<int>::max();
        std::size_t at = 0;
        for (std::size_t i = 0; i + 1 < word.size(); ++i) {
            const auto it = m_impl->ranks.find(word[i] + ' ' + word[i + 1]);
            if (it != m_impl->ranks.end() && it->second < best) {
                best = it->second;
                at = i;
            }
        }
        if (best == std::numeric_limits<int>::max())
            break;
        const std::string first = word[at], second = word[at + 1];
        std::vector<std::string> merged;
        for (std::size_t i = 0; i < word.size(); ++i) {
            if (i + 1 < word.size() && word[i] == first && word[i + 1] == second) {
                merged.push_back(first + second);
                ++i;
            } else {
                merged.push_back(word[i]);
            }
        }
        word.swap(merged);
    }
    return word;
}

std::vector<std::int64_t> ClipTokenizer::encode(std::string_view utf8) const
{
    std::vector<std::int64_t> out;
    for (const auto& t : splitPretokens(clipCleanText(decodeUtf8(utf8)))) {
        if (t == kStartText || t == kEndText) {
            out.push_back(t == kStartText ? kStartOfText : kEndOfText);
            continue;
        }
        for (const auto& piece : bpe(encodeUtf8(t)))
            out.push_back(m_impl->ids.at(piece));
    }
    return out;
}

std::vector<std::int64_t> ClipTokenizer::tokenize(std::string_view utf8, int contextLength, bool truncate) const
{
    if (contextLength < 2)
        throw std::invalid_argument("CLIP context length must be at least 2, got " + std::to_string(contextLength));
    std::vector<std::int64_t> ids{kStartOfText};
    const auto body = encode(utf8);
    ids.insert(ids.end(), body.begin(), body.end());
    ids.push_back(kEndOfText);
    if (ids.size() > std::size_t(contextLength)) {
        if (!truncate)
            throw std::invalid_argument("text of " + std::to_string(ids.size()) + " tokens is longer than the context length " +
                                        std::to_string(contextLength));
        ids.resize(std::size_t(contextLength));
        ids.back() = kEndOfText;
    }
    ids.resize(std::size_t(contextLength), 0);
    return ids;
}

std::size_t ClipTokenizer::vocabularySize() const { return m_impl->ids.size(); }

}  // namespace camsight::text
