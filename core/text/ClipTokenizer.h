#pragma once
// Std
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace camsight::text {

/// OpenAI CLIP's byte-level BPE tokenizer (clip/simple_tokenizer.py + clip.tokenize), reading the same merge list
/// (`bpe_simple_vocab_16e6.txt.gz`). Text clean-up as the reference (ftfy as far as text/TextClean.h documents, HTML
/// unescaping twice, whitespace collapsing, Python's lower()).
class ClipTokenizer {
public:
    static constexpr std::int64_t kStartOfText = 49406;
    static constexpr std::int64_t kEndOfText = 49407;

    /// Reads the gzip merge list. Throws std::runtime_error naming the file when it cannot be read or is not a CLIP
    /// merge list.
    static ClipTokenizer load(const std::string& vocabPath);
    ClipTokenizer(ClipTokenizer&&) noexcept;
    ClipTokenizer& operator=(ClipTokenizer&&) noexcept;
    ~ClipTokenizer();

    /// The cleaned, lower-cased text (UTF-8).
    static std::string clean(std::string_view utf8);
    /// The regex pre-tokens of the cleaned text (UTF-8).
    static std::vector<std::string> pretokens(std::string_view utf8);
    /// The BPE pieces of one pre-token, in the byte-to-unicode alphabet (UTF-8), the last one ending in "</w>".
    std::vector<std::string> bpe(std::string_view pretoken) const;
    /// Token ids without the start and end markers.
    std::vector<std::int64_t> encode(std::string_view utf8) const;
    /// clip.tokenize for one text: start marker, ids, end marker, zero padded to `contextLength`. Too long: with
    /// `truncate`, the first `contextLength` tokens with the last set to the end marker; else std::invalid_argument.
    std::vector<std::int64_t> tokenize(std::string_view utf8, int contextLength = 77, bool truncate = true) const;
    /// Number of ids (merge list + 512 byte symbols + 2 markers): 49408.
    std::size_t vocabularySize() const;

private:
    struct Impl;
    explicit ClipTokenizer(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

}  // namespace camsight::text
