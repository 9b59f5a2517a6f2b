// CLIP's tokenizer against ../shared/golden/clip/tokenizer (openai/CLIP d05afc4, ftfy 6.3.1): cleaned text, regex
// pre-tokens, BPE pieces and the 77 token ids of all 69 strings must be equal (integers: exact).
#include "core/text/ClipTokenizer.h"
#include "core/io/Npy.h"
#include "tests/support/MiniJson.h"
#include "tests/support/SharedData.h"

// Third-party
#include <gtest/gtest.h>

// Std
#include <fstream>

namespace camsight::text {
namespace {

const std::string kClip = "golden/clip";

std::string goldenPath(const std::string& rel) { return (test::sharedDir() / kClip / rel).string(); }

const ClipTokenizer& tokenizer()
{
    static const ClipTokenizer t = ClipTokenizer::load(goldenPath("bpe_simple_vocab_16e6.txt.gz"));
    return t;
}

TEST(ClipTokenizerGolden, EveryStringEqualsTheReference)
{
    CAMSIGHT_REQUIRE_SHARED(kClip);
    const auto doc = test::Json::parseFile(goldenPath("tokenizer/strings.json"));
    const auto tokenFile = io::readNpy(goldenPath("tokenizer/tokens.npy"));
    const auto tokens = tokenFile.toDouble();
    ASSERT_EQ(tokenFile.shape, (std::vector<std::size_t>{69, 77}));
    const auto& strings = doc["strings"].arr;
    ASSERT_EQ(strings.size(), 69u);
    EXPECT_EQ(tokenizer().vocabularySize(), 49408u);
    for (std::size_t i = 0; i < strings.size(); ++i) {
        const auto& s = strings[i];
        const std::string& text = s["text"].str;
        SCOPED_TRACE("string " + std::to_string(i) + " (" + s["category"].str + "): " + text);
        EXPECT_EQ(ClipTokenizer::clean(text), s["cleaned"].str);
        const auto pre = ClipTokenizer::pretokens(text);
        ASSERT_EQ(pre.size(), s["pretokens"].arr.size());
        for (std::size_t k = 0; k < pre.size(); ++k) {
            EXPECT_EQ(pre[k], s["pretokens"][k].str);
            const auto pieces = tokenizer().bpe(pre[k]);
            const auto& want = s["bpe_pieces"][k].arr;
            if (pre[k] == "<|startoftext|>" || pre[k] == "<|endoftext|>")
                continue;  // special tokens bypass BPE in the reference (its cache)
            ASSERT_EQ(pieces.size(), want.size());
            for (std::size_t p = 0; p < pieces.size(); ++p)
                EXPECT_EQ(pieces[p], want[p].str);
        }
        const auto ids = tokenizer().tokenize(text);
        ASSERT_EQ(ids.size(), 77u);
        for (std::size_t k = 0; k < 77; ++k)
            ASSERT_EQ(ids[k], std::int64_t(tokens[i * 77 + k])) << "position " << k;
        const auto unpadded = tokenizer().encode(text);
        EXPECT_EQ(double(unpadded.size() + 2), s["n_tokens_before_truncation"].number());
    }
}

TEST(ClipTokenizerGolden, LongTextIsRefusedWithoutTruncation)
{
    CAMSIGHT_REQUIRE_SHARED(kClip);
    const std::string longText(200, 'a');
    std::string words;
    for (int i = 0; i < 80; ++i)
        words += "a ";
    EXPECT_THROW(tokenizer().tokenize(words, 77, false), std::invalid_argument);
    EXPECT_EQ(tokenizer().tokenize(words, 77, true)[76], ClipTokenizer::kEndOfText);
    EXPECT_NO_THROW(tokenizer().tokenize(longText, 77, false));  // one long word is a few tokens
}

TEST(ClipTokenizer, MissingOrWrongVocabularyNamesTheFile)
{
    const std::string missing = (test::scratchDir() / "no-vocab.txt.gz").string();
    try {
        ClipTokenizer::load(missing);
        FAIL() << "loaded a missing file";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find(missing), std::string::npos) << e.what();
    }
    const std::string wrong = (test::scratchDir() / "wrong.txt").string();
    std::ofstream(wrong) << "\"bpe_simple_vocab_16e6.txt#version: 0.2\ni n\nt h\n";
    try {
        ClipTokenizer::load(wrong);
        FAIL() << "loaded a three-line merge list";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("fewer than 48894 merges"), std::string::npos) << e.what();
    }
}

}  // namespace
}  // namespace camsight::text
