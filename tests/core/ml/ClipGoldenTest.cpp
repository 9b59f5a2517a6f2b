// CLIP against ../shared/golden/clip/model (openai/CLIP d05afc4, a tiny random-weight ViT CLIP, Pillow 9.4). Tolerances
// from its README: Pillow resize and crop exact; preprocessed input 1e-6; the archive through LibTorch 1e-5; a native
// float32 forward 1e-4 max-abs; normalised features 1e-5; logits 1e-3.

// Local
#include "core/image/PillowResize.h"
#include "core/io/Npy.h"
#include "core/ml/Checkpoint.h"
#include "core/ml/Clip.h"
#include "core/text/ClipTokenizer.h"
#include "tests/support/Checks.h"
#include "tests/support/SharedData.h"

// Std
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

using namespace camsight;
namespace fs = std::filesystem;

namespace {

fs::path golden() { return test::sharedDir() / "golden/clip/model"; }
std::vector<float> npy(const std::string& name) { return io::readNpy((golden() / name).string()).toFloat(); }

ml::RgbImage sourceImage()
{
    const io::NpyArray a = io::readNpy((golden() / "image_rgb_uint8.npy").string());
    ml::RgbImage im;
    im.height = int(a.shape.at(0));
    im.width = int(a.shape.at(1));
    im.rgb.assign(a.bytes.begin(), a.bytes.end());
    return im;
}

ml::FloatArray goldenInput() { return ml::FloatArray({1, 3, 224, 224}, npy("image_input.npy")); }

std::vector<std::int64_t> promptTokens()
{
    std::vector<std::int64_t> out;
    for (const double v : io::readNpy((golden() / "prompt_tokens.npy").string()).toDouble())
        out.push_back(std::int64_t(v));
    return out;
}

class ClipGolden : public ::testing::Test {
protected:
    void SetUp() override { CAMSIGHT_REQUIRE_SHARED("golden/clip/model"); }
};

TEST_F(ClipGolden, PillowBicubicResizeAndCropAreExact)
{
    const auto im = sourceImage();
    const auto resized = image::resizePillow(im.rgb.data(), 300, 260, 3, 258, 224, image::PillowFilter::Bicubic);
    const auto want = io::readNpy((golden() / "image_resized_uint8.npy").string());
    ASSERT_EQ(resized.size(), want.bytes.size());
    std::size_t differ = 0;
    for (std::size_t i = 0; i < resized.size(); ++i)
        differ += resized[i] != want.bytes[i];
    EXPECT_EQ(differ, 0u);
}

TEST_F(ClipGolden, TorchScriptArchiveEqualsTheReference)
{
    const auto model = ml::ClipModel::load((golden() / "clip_tiny_jit.pt").string());
    EXPECT_EQ(model.form(), "torchscript");
    const auto& c = model.config();
    EXPECT_EQ(c.embedDim, 32);
    EXPECT_EQ(c.imageResolution, 224);
    EXPECT_EQ(c.visionLayers, 2);
    EXPECT_EQ(c.visionWidth, 128);
    EXPECT_EQ(c.visionPatch, 32);
    EXPECT_EQ(c.visionHeads, 2);
    EXPECT_EQ(c.contextLength, 77);
    EXPECT_EQ(c.vocabSize, 49408);
    EXPECT_EQ(c.textWidth, 64);
    EXPECT_EQ(c.textHeads, 1);
    EXPECT_EQ(c.textLayers, 2);
    EXPECT_NEAR(model.logitScale(), 13.99460506439209, 1e-5);

    const auto input = model.preprocess(sourceImage());
    EXPECT_LE(test::maxDiff(input.data, npy("image_input.npy")), 1e-6);
    const auto img = model.encodeImage(goldenInput());
    EXPECT_EQ(img.shape, (std::vector<std::int64_t>{1, 32}));
    EXPECT_LE(test::maxDiff(img.data, npy("encode_image.npy")), 1e-5);
    const auto txt = model.encodeText(promptTokens());
    EXPECT_EQ(txt.shape, (std::vector<std::int64_t>{5, 32}));
    EXPECT_LE(test::maxDiff(txt.data, npy("encode_text.npy")), 1e-5);
    EXPECT_LE(test::maxDiff(ml::l2Normalize(img).data, npy("image_features_normalized.npy")), 1e-5);
    EXPECT_LE(test::maxDiff(ml::l2Normalize(txt).data, npy("text_features_normalized.npy")), 1e-5);
    EXPECT_LE(test::maxDiff(ml::clipLogits(img, txt, model.logitScale()).data, npy("logits_per_image.npy")), 1e-3);

    // The native forward on the archive's own weights (the path of the official float16 CUDA archives).
    EXPECT_LE(test::maxDiff(model.encodeImageNative(goldenInput()).data, npy("encode_image.npy")), 1e-4);
    EXPECT_LE(test::maxDiff(model.encodeTextNative(promptTokens()).data, npy("encode_text.npy")), 1e-4);
}

TEST_F(ClipGolden, StateDictRunsTheNativeForward)
{
    const auto model = ml::ClipModel::load((golden() / "clip_tiny_state_dict.pt").string());
    EXPECT_EQ(model.form(), "state_dict");
    EXPECT_EQ(model.config().visionHeads, 2);
    const auto img = model.encodeImage(goldenInput());
    const auto txt = model.encodeText(promptTokens());
    EXPECT_LE(test::maxDiff(img.data, npy("encode_image.npy")), 1e-4);
    EXPECT_LE(test::maxDiff(txt.data, npy("encode_text.npy")), 1e-4);
    EXPECT_LE(test::maxDiff(ml::clipLogits(img, txt, model.logitScale()).data, npy("logits_per_image.npy")), 1e-3);
    // Patch features: one embedding per patch of the 7 x 7 grid, in the text embedding's space.
    const auto patches = model.patchFeatures(goldenInput());
    EXPECT_EQ(patches.shape, (std::vector<std::int64_t>{1, 7, 7, 32}));
    for (const float v : patches.data)
        ASSERT_TRUE(std::isfinite(v));
}

TEST_F(ClipGolden, TokenizerGivesThePromptTokens)
{
    CAMSIGHT_REQUIRE_SHARED("golden/clip/bpe_simple_vocab_16e6.txt.gz");
    const auto tok = text::ClipTokenizer::load((test::sharedDir() / "golden/clip/bpe_simple_vocab_16e6.txt.gz").string());
    const char* prompts[] = {"a chest x-ray showing pneumonia", "a chest x-ray with no finding",
                             "left lower lobe consolidation", "a photo of a tumor", "an MRI of the brain"};
    std::vector<std::int64_t> all;
    for (const char* p : prompts) {
        const auto t = tok.tokenize(p);
        all.insert(all.end(), t.begin(), t.end());
    }
    EXPECT_EQ(all, promptTokens());
}

TEST_F(ClipGolden, WrongFilesAreNamed)
{
    const std::string sam = (test::sharedDir() / "golden/sam/sam_tiny.pth").string();
    const std::string err = test::errorOf([&] { ml::ClipModel::load(sam); });
    EXPECT_NE(err.find(sam), std::string::npos) << err;
    EXPECT_NE(err.find("not a CLIP"), std::string::npos) << err;
    const auto model = ml::ClipModel::load((golden() / "clip_tiny_state_dict.pt").string());
    EXPECT_NE(test::errorOf([&] { model.encodeText(std::vector<std::int64_t>(76, 1)); }).find("rows of 77"),
              std::string::npos);
    EXPECT_NE(test::errorOf([&] { model.encodeImage(ml::FloatArray({1, 3, 100, 100})); }).find("[N, 3, 224, 224]"),
              std::string::npos);
}

}  // namespace
