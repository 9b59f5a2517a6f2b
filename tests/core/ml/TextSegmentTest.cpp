// Text prompts to masks (CLIP-SAM and the similarity path) on the tiny random-weight SAM and CLIP of ../shared/golden.
// The weights are random, so the tests check the mechanics against independent computations, not segmentation
// quality: the scores are CLIP's softmax over [text, background] for each mask's crop, ranked; the similarity path's
// point is its map's peak and its box holds the point.

// Local
#include "core/io/Npy.h"
#include "core/ml/TextSegment.h"
#include "core/text/ClipTokenizer.h"
#include "tests/support/SharedData.h"

// Std
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

using namespace camsight;
using namespace camsight::ml;

namespace {

TEST(MaskedCrop, KeepsMaskPixelsAndPadsWithClipMean)
{
    RgbImage im;
    im.width = 6;
    im.height = 4;
    for (int i = 0; i < 24; ++i)
        for (int c = 0; c < 3; ++c)
            im.rgb.push_back(std::uint8_t(i * 10 + c));
    std::vector<std::uint8_t> mask(24, 0);
    mask[1 * 6 + 2] = mask[1 * 6 + 3] = mask[2 * 6 + 2] = 1;  // bbox x 2..3, y 1..2 -> 2 x 2
    mask[0] = 1;                                              // outside the box given: ignored
    const RgbImage crop = maskedCrop(im, mask, {2, 1, 2, 2});
    ASSERT_EQ(crop.width, 2);
    ASSERT_EQ(crop.height, 2);
    EXPECT_EQ(crop.rgb[0], im.rgb[(1 * 6 + 2) * 3]);
    EXPECT_EQ(crop.rgb[3 + 1], im.rgb[(1 * 6 + 3) * 3 + 1]);
    EXPECT_EQ(crop.rgb[(1 * 2 + 1) * 3], 123);  // (3, 2) is not in the mask: CLIP's mean colour
    // A wide box is padded to a square, centred.
    const RgbImage wide = maskedCrop(im, mask, {2, 1, 4, 2});
    ASSERT_EQ(wide.width, 4);
    EXPECT_EQ(wide.rgb[0], 123);                          // padding row
    EXPECT_EQ(wide.rgb[(1 * 4 + 0) * 3], im.rgb[(1 * 6 + 2) * 3]);
}

class TextSegmentTiny : public ::testing::Test {
protected:
    void SetUp() override
    {
        CAMSIGHT_REQUIRE_SHARED("golden/clip/model");
        CAMSIGHT_REQUIRE_SHARED("golden/sam/sam_tiny.pth");
    }
    static RgbImage image()
    {
        const io::NpyArray a = io::readNpy((test::sharedDir() / "golden/sam/sam_tiny_a/image.npy").string());
        RgbImage im;
        im.height = int(a.shape.at(0));
        im.width = int(a.shape.at(1));
        im.rgb.assign(a.bytes.begin(), a.bytes.end());
        return im;
    }
};

TEST_F(TextSegmentTiny, ClipSamRanksProposalsByClipProbability)
{
    const auto sam = SamModel::load((test::sharedDir() / "golden/sam/sam_tiny.pth").string());
    const auto clip = ClipModel::load((test::sharedDir() / "golden/clip/model/clip_tiny_state_dict.pt").string());
    const auto tok = text::ClipTokenizer::load((test::sharedDir() / "golden/clip/bpe_simple_vocab_16e6.txt.gz").string());
    TextSegmentOptions o;
    o.topK = 5;
    o.autoMask.pointsPerSide = 4;
    o.autoMask.predIouThresh = 0;
    o.autoMask.stabilityScoreThresh = 0;
    o.autoMask.boxNmsThresh = 1.0;  // keep all 48 proposals
    const RgbImage im = image();
    const auto r = segmentByText(sam, clip, tok, im, "a nodule", o);
    EXPECT_EQ(r.proposals, 48);
    ASSERT_EQ(r.masks.size(), 5u);
    // Each score recomputed: the crop through CLIP against the two prompts.
    auto tokens = tok.tokenize("a nodule");
    const auto bg = tok.tokenize("background");
    tokens.insert(tokens.end(), bg.begin(), bg.end());
    const FloatArray textFeatures = clip.encodeText(tokens);
    for (std::size_t i = 0; i < r.masks.size(); ++i) {
        const auto& m = r.masks[i];
        const FloatArray logits =
            clipLogits(clip.encodeImage(clip.preprocess(maskedCrop(im, m.mask, m.bbox))), textFeatures, clip.logitScale());
        const double p = std::exp(logits.data[0]) / (std::exp(logits.data[0]) + std::exp(logits.data[1]));
        EXPECT_NEAR(m.textProbability, p, 1e-5) << "mask " << i;
        if (i > 0) {
            EXPECT_GE(r.masks[i - 1].textProbability, m.textProbability);
        }
    }
    EXPECT_THROW(segmentByText(sam, clip, tok, im, "  ", o), std::invalid_argument);
}

TEST_F(TextSegmentTiny, SimilarityPromptsSamAtThePeak)
{
    const auto sam = SamModel::load((test::sharedDir() / "golden/sam/sam_tiny.pth").string());
    const auto clip = ClipModel::load((test::sharedDir() / "golden/clip/model/clip_tiny_jit.pt").string());
    const auto tok = text::ClipTokenizer::load((test::sharedDir() / "golden/clip/bpe_simple_vocab_16e6.txt.gz").string());
    TextSegmentOptions o;
    o.method = TextSegmentMethod::Similarity;
    const RgbImage im = image();
    const auto r = segmentByText(sam, clip, tok, im, "left lower lobe consolidation", o);
    ASSERT_EQ(r.similarity.shape, (std::vector<std::int64_t>{7, 7}));
    ASSERT_EQ(r.masks.size(), 1u);
    const auto& s = r.similarity.data;
    const std::size_t peak = std::size_t(std::max_element(s.begin(), s.end()) - s.begin());
    EXPECT_DOUBLE_EQ(r.masks[0].point[0], (double(peak % 7) + 0.5) * im.width / 7.0);
    EXPECT_DOUBLE_EQ(r.masks[0].point[1], (double(peak / 7) + 0.5) * im.height / 7.0);
    EXPECT_LE(r.promptBox[0], r.masks[0].point[0]);
    EXPECT_GE(r.promptBox[2], r.masks[0].point[0]);
    EXPECT_LE(r.promptBox[1], r.masks[0].point[1]);
    EXPECT_GE(r.promptBox[3], r.masks[0].point[1]);
    // The mask is SAM's best of three for that point and box.
    SamPrompts p;
    p.points.push_back({r.masks[0].point[0], r.masks[0].point[1], 1});
    p.box = std::array<double, 4>{double(r.promptBox[0]), double(r.promptBox[1]), double(r.promptBox[2]), double(r.promptBox[3])};
    const SamResult direct = sam.decode(sam.encode(im), p);
    EXPECT_FLOAT_EQ(r.masks[0].predictedIou, *std::max_element(direct.iou.data.begin(), direct.iou.data.end()));
}

}  // namespace
