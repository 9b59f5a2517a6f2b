// SAM against ../shared/golden/sam (segment-anything's SamPredictor on tiny random-weight models). Tolerances from its
// README: input 1e-5 max-abs; embedding, low-res logits and logits 1e-3 max-abs and 1e-4 relative L2; IoU 1e-4;
// masks may differ only where the golden logit is within 1e-3 of 0; Pillow resize bit-exact.

// Local
#include "core/image/PillowResize.h"
#include "core/io/Json.h"
#include "core/io/Npy.h"
#include "core/ml/Checkpoint.h"
#include "core/ml/Sam.h"
#include "core/ml/internal/Amx.hpp"
#include "core/ml/internal/SamNet.hpp"
#include "tests/support/SharedData.h"

// Std
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>

using namespace camsight;
namespace fs = std::filesystem;

namespace {

fs::path golden() { return test::sharedDir() / "golden/sam"; }

struct Diff {
    double maxAbs = 0, relL2 = 0;
};

Diff compare(const std::vector<float>& got, const std::vector<float>& want)
{
    EXPECT_EQ(got.size(), want.size());
    Diff d;
    double num = 0, den = 0;
    for (std::size_t i = 0; i < std::min(got.size(), want.size()); ++i) {
        const double e = double(got[i]) - want[i];
        d.maxAbs = std::max(d.maxAbs, std::fabs(e));
        num += e * e;
        den += double(want[i]) * want[i];
    }
    d.relL2 = den > 0 ? std::sqrt(num / den) : std::sqrt(num);
    return d;
}

ml::SamImage loadImage(const fs::path& p)
{
    const io::NpyArray a = io::readNpy(p.string());
    ml::SamImage im;
    im.height = int(a.shape.at(0));
    im.width = int(a.shape.at(1));
    im.rgb.assign(a.bytes.begin(), a.bytes.end());
    return im;
}

class SamGolden : public ::testing::Test {
protected:
    void SetUp() override { CAMSIGHT_REQUIRE_SHARED("golden/sam"); }
};

}  // namespace

TEST_F(SamGolden, PillowResizeIsBitExact)
{
    const io::NpyArray in = io::readNpy((golden() / "resize_downscale/image.npy").string());
    const io::NpyArray want = io::readNpy((golden() / "resize_downscale/resized.npy").string());
    ASSERT_EQ(want.shape, (std::vector<std::size_t>{38, 1024, 3}));  // 41 * 1024 / 1100 = 38.17 -> 38
    const auto got = image::resizeBilinearPillow(in.bytes.data(), 1100, 41, 3, 1024, 38);
    EXPECT_EQ(got, want.bytes);
}

TEST_F(SamGolden, PreprocessingMatchesTheEncoderInput)
{
    const ml::SamModel sam = ml::SamModel::load((golden() / "sam_tiny.pth").string());
    const ml::FloatArray input = sam.preprocess(loadImage(golden() / "sam_tiny_a/image.npy"));
    const auto want = io::readNpy((golden() / "sam_tiny_a/input.npy").string()).toFloat();
    const Diff d = compare(input.data, want);
    EXPECT_LE(d.maxAbs, 1e-5);
    EXPECT_LE(d.relL2, 1e-6);
}

namespace {

// Every prompt case of both golden images within the README's tolerances, on whichever product kernels run.
void checkEveryPromptCase()
{
    const ml::SamModel sam = ml::SamModel::load((golden() / "sam_tiny.pth").string());
    EXPECT_EQ(sam.variant(), "custom");
    for (const char* caseName : {"sam_tiny_a", "sam_tiny_b"}) {
        SCOPED_TRACE(caseName);
        const fs::path dir = golden() / caseName;
        const ml::SamEmbedding e = sam.encode(loadImage(dir / "image.npy"));
        const Diff de = compare(e.features.data, io::readNpy((dir / "embedding.npy").string()).toFloat());
        EXPECT_LE(de.maxAbs, 1e-3);
        EXPECT_LE(de.relL2, 1e-4);
        std::printf("  %s embedding: max abs %.2e, rel-L2 %.2e\n", caseName, de.maxAbs, de.relL2);
        const io::Json manifest = io::Json::parseFile((dir / "manifest.json").string());
        int cases = 0;
        for (const io::Json& p : manifest["prompts"].arr) {
            const std::string name = p["name"].str;
            SCOPED_TRACE(name);
            ml::SamPrompts prompts;
            if (p["point_coords"].type == io::Json::Type::Array)
                for (std::size_t i = 0; i < p["point_coords"].arr.size(); ++i)
                    prompts.points.push_back({p["point_coords"][i][0].num, p["point_coords"][i][1].num,
                                              int(p["point_labels"][i].num)});
            if (p["box"].type == io::Json::Type::Array)
                prompts.box = std::array<double, 4>{p["box"][0].num, p["box"][1].num, p["box"][2].num, p["box"][3].num};
            if (p["mask_input"].type == io::Json::Type::Object) {
                const io::NpyArray src = io::readNpy((dir / p["mask_input"]["file"].str).string());
                const auto all = src.toFloat();
                const std::size_t idx = std::size_t(p["mask_input"]["index"].num);
                prompts.maskInput = ml::FloatArray({1, 256, 256}, {all.begin() + idx * 65536, all.begin() + (idx + 1) * 65536});
            }
            prompts.multimask = p["multimask_output"].boolean;
            const ml::SamResult r = sam.decode(e, prompts);
            const Diff dl = compare(r.lowResLogits.data, io::readNpy((dir / (name + "_low_res_logits.npy")).string()).toFloat());
            EXPECT_LE(dl.maxAbs, 1e-3);
            EXPECT_LE(dl.relL2, 1e-4);
            const Diff di = compare(r.iou.data, io::readNpy((dir / (name + "_iou.npy")).string()).toFloat());
            EXPECT_LE(di.maxAbs, 1e-4);
            const auto logitsRef = io::readNpy((dir / (name + "_logits.npy")).string()).toFloat();
            const Diff dg = compare(r.logits.data, logitsRef);
            EXPECT_LE(dg.maxAbs, 1e-3);
            EXPECT_LE(dg.relL2, 1e-4);
            const io::NpyArray masksRef = io::readNpy((dir / (name + "_masks.npy")).string());
            ASSERT_EQ(r.masks.size(), masksRef.bytes.size());
            std::size_t differing = 0;
            for (std::size_t i = 0; i < r.masks.size(); ++i)
                if ((r.masks[i] != 0) != (masksRef.bytes[i] != 0)) {
                    ++differing;
                    EXPECT_LT(std::fabs(logitsRef[i]), 1e-3) << "mask differs at " << i;
                }
            std::printf("  %s %-16s low-res %.1e/%.1e  iou %.1e  logits %.1e/%.1e  mask px differing %zu\n", caseName,
                        name.c_str(), dl.maxAbs, dl.relL2, di.maxAbs, dg.maxAbs, dg.relL2, differing);
            ++cases;
        }
        EXPECT_EQ(cases, 10);
    }
}

}  // namespace

// On AMX where the CPU has it (the decoder's image-side products in three bfloat16 parts), else the float kernels.
TEST_F(SamGolden, EveryPromptCaseMatchesSamPredictor)
{
    std::printf("  products on %s\n", ml::amx::enabled() ? "AMX" : "the float kernels");
    checkEveryPromptCase();
}

// The float kernels, which every CPU without AMX runs, checked on this one too.
TEST_F(SamGolden, EveryPromptCaseMatchesSamPredictorOnTheFloatKernels)
{
    if (!ml::amx::enabled())
        GTEST_SKIP() << "no AMX on this CPU: EveryPromptCaseMatchesSamPredictor ran the float kernels";
    ml::amx::setEnabled(false);
    checkEveryPromptCase();
    ml::amx::setEnabled(true);
}

namespace {

// A state_dict of shape-only (meta) tensors from a key manifest: the real vit_h would be 2.5 GB.
ml::StateDict metaStateDict(const io::Json& keys)
{
    ml::StateDict sd;
    for (const auto& e : keys.arr) {
        std::vector<std::int64_t> shape;
        for (double d : e[1].numbers())
            shape.push_back(static_cast<std::int64_t>(d));
        sd.emplace_back(e[0].str, torch::empty(shape, torch::TensorOptions().device(torch::kMeta)));
    }
    return sd;
}

}  // namespace

TEST_F(SamGolden, RealArchitecturesAreRecognisedFromTheirKeys)
{
    for (const char* v : {"vit_b", "vit_l", "vit_h", "vit_t"}) {
        SCOPED_TRACE(v);
        const io::Json keys = io::Json::parseFile((golden() / (std::string("keys_") + v + ".json")).string());
        const ml::sam::Weights w(metaStateDict(keys), std::string(v) + ".pth");
        const ml::sam::Config c = ml::sam::inferConfig(w);
        EXPECT_EQ(c.variant, v);
        EXPECT_NO_THROW(ml::sam::checkKeys(w, c));
        const auto expected = ml::sam::expectedKeys(c);
        ASSERT_EQ(expected.size(), keys.arr.size());
        for (std::size_t i = 0; i < expected.size(); ++i)
            EXPECT_EQ(expected[i].first, keys[i][0].str) << "state_dict position " << i;
    }
    // The tiny golden models infer as custom encoders with the README's configurations.
    const io::Json tinyT = io::Json::parseFile((golden() / "keys_mobile_sam_tiny.json").string());
    const ml::sam::Weights wt(metaStateDict(tinyT), "tiny_t");
    const ml::sam::Config ct = ml::sam::inferConfig(wt);
    EXPECT_EQ(ct.tinyDims, (std::vector<int>{16, 32, 64, 80}));
    EXPECT_EQ(ct.tinyDepths, (std::vector<int>{1, 1, 2, 1}));
    EXPECT_EQ(ct.tinyHeads, (std::vector<int>{0, 2, 2, 4}));
    EXPECT_EQ(ct.tinyWindows, (std::vector<int>{0, 7, 14, 7}));
    EXPECT_NO_THROW(ml::sam::checkKeys(wt, ct));
    const io::Json tiny = io::Json::parseFile((golden() / "keys_sam_tiny.json").string());
    const ml::sam::Config c = ml::sam::inferConfig(ml::sam::Weights(metaStateDict(tiny), "tiny"));
    EXPECT_EQ(c.embedDim, 64);
    EXPECT_EQ(c.heads, 4);
    EXPECT_EQ(c.globalBlocks, (std::vector<int>{1, 3}));
    EXPECT_EQ(c.windowSize, 14);
    EXPECT_EQ(c.maskInChans, 16);
}

TEST_F(SamGolden, WrongOrPartialCheckpointsNameTheFirstMismatch)
{
    const io::Json keys = io::Json::parseFile((golden() / "keys_vit_b.json").string());
    ml::StateDict sd = metaStateDict(keys);
    ml::StateDict partial(sd.begin(), sd.end() - 3);  // a truncated download loses the tail
    const ml::sam::Weights pw(partial, "part.pth");
    try {
        ml::sam::checkKeys(pw, ml::sam::inferConfig(pw));
        FAIL() << "no error";
    } catch (const ml::CheckpointError& e) {
        EXPECT_STREQ(e.what(), "part.pth: key 'mask_decoder.iou_prediction_head.layers.1.bias' [256] is missing "
                               "(a partial or different checkpoint; inferred vit_b)");
    }
    ml::StateDict wrong = sd;
    wrong[5].second = torch::empty({29, 64}, torch::TensorOptions().device(torch::kMeta));
    const ml::sam::Weights ww(wrong, "wrong.pth");
    try {
        ml::sam::checkKeys(ww, ml::sam::inferConfig(ww));
        FAIL() << "no error";
    } catch (const ml::CheckpointError& e) {
        EXPECT_STREQ(e.what(), ("wrong.pth: key '" + keys[5][0].str + "' has shape [29, 64], expected [27, 64] for vit_b").c_str());
    }
    // Not a SAM at all.
    CAMSIGHT_REQUIRE_SHARED("golden/cam");
    EXPECT_THROW(ml::SamModel::load((test::sharedDir() / "golden/cam/cnn_scripted.pt").string()), ml::CheckpointError);
}

TEST_F(SamGolden, MobileSamMatchesItsPredictor)
{
    const ml::SamModel sam = ml::SamModel::load((golden() / "mobile_sam_tiny.pth").string());
    EXPECT_EQ(sam.variant(), "custom_t");
    const fs::path dir = golden() / "mobile_sam_tiny_a";
    const ml::SamEmbedding e = sam.encode(loadImage(golden() / "sam_tiny_a/image.npy"));
    const Diff de = compare(e.features.data, io::readNpy((dir / "embedding.npy").string()).toFloat());
    EXPECT_LE(de.maxAbs, 1e-3);
    EXPECT_LE(de.relL2, 1e-4);
    ml::SamPrompts p;
    p.points.push_back({181.25, 130.5, 1});
    p.multimask = false;
    const ml::SamResult r = sam.decode(e, p);
    const Diff dl = compare(r.lowResLogits.data, io::readNpy((dir / "point1_single_low_res_logits.npy").string()).toFloat());
    EXPECT_LE(dl.maxAbs, 1e-3);
    EXPECT_LE(dl.relL2, 1e-4);
    EXPECT_LE(compare(r.iou.data, io::readNpy((dir / "point1_single_iou.npy").string()).toFloat()).maxAbs, 1e-4);
    const auto logitsRef = io::readNpy((dir / "point1_single_logits.npy").string()).toFloat();
    const Diff dg = compare(r.logits.data, logitsRef);
    EXPECT_LE(dg.maxAbs, 1e-3);
    EXPECT_LE(dg.relL2, 1e-4);
    const io::NpyArray masksRef = io::readNpy((dir / "point1_single_masks.npy").string());
    ASSERT_EQ(r.masks.size(), masksRef.bytes.size());
    for (std::size_t i = 0; i < r.masks.size(); ++i) {
        if ((r.masks[i] != 0) != (masksRef.bytes[i] != 0)) {
            EXPECT_LT(std::fabs(logitsRef[i]), 1e-3) << "mask differs at " << i;
        }
    }
    std::printf("  mobile_sam_tiny_a embedding %.1e/%.1e, low-res %.1e/%.1e, logits %.1e/%.1e\n", de.maxAbs, de.relL2,
                dl.maxAbs, dl.relL2, dg.maxAbs, dg.relL2);
}

TEST_F(SamGolden, MedSamInferenceMatchesItsScript)
{
    const fs::path dir = golden() / "medsam_tiny_ct";
    const io::NpyArray grey = io::readNpy((dir / "ct_window_uint8.npy").string());
    ml::SamImage image;
    image.height = int(grey.shape.at(0));
    image.width = int(grey.shape.at(1));
    for (std::uint8_t v : grey.bytes)
        image.rgb.insert(image.rgb.end(), {v, v, v});
    // Step 2: scikit-image's cubic spline to 1024 x 1024, truncated to 8 bits: exact, or off by one at <= 0.1%.
    const auto resized = ml::SamModel::medsamResize(image);
    const io::NpyArray ch0 = io::readNpy((dir / "img_1024_uint8_ch0.npy").string());
    std::size_t off = 0;
    for (std::size_t i = 0; i < ch0.bytes.size(); ++i) {
        const int d = int(resized[i * 3]) - int(ch0.bytes[i]);
        ASSERT_LE(std::abs(d), 1) << "pixel " << i;
        off += d != 0;
    }
    EXPECT_LE(off, ch0.bytes.size() / 1000);
    const ml::SamModel sam = ml::SamModel::load((golden() / "sam_tiny.pth").string());
    const ml::SamEmbedding e = sam.encodeMedSam(image);
    ml::SamPrompts p;
    p.box = std::array<double, 4>{55, 55, 160, 135};
    p.multimask = false;
    const ml::SamResult r = sam.decode(e, p);
    const Diff dl = compare(r.lowResLogits.data, io::readNpy((dir / "low_res_logits.npy").string()).toFloat());
    EXPECT_LE(dl.maxAbs, 1e-3);
    EXPECT_LE(dl.relL2, 1e-4);
    const auto probRef = io::readNpy((dir / "prob.npy").string()).toFloat();
    const Diff dp = compare(r.probabilities.data, probRef);
    EXPECT_LE(dp.maxAbs, 1e-3);
    EXPECT_LE(dp.relL2, 1e-4);
    const io::NpyArray maskRef = io::readNpy((dir / "mask.npy").string());
    ASSERT_EQ(r.masks.size(), maskRef.bytes.size());
    std::size_t differing = 0;
    for (std::size_t i = 0; i < r.masks.size(); ++i) {
        if ((r.masks[i] != 0) != (maskRef.bytes[i] != 0)) {
            ++differing;
            EXPECT_LT(std::fabs(probRef[i] - 0.5f), 1e-3) << "mask differs at " << i;
        }
    }
    std::printf("  medsam_tiny_ct: resized 8-bit values off by one %zu of %zu, low-res %.1e/%.1e, prob %.1e/%.1e, mask px "
                "differing %zu\n", off, ch0.bytes.size(), dl.maxAbs, dl.relL2, dp.maxAbs, dp.relL2, differing);
}

TEST_F(SamGolden, EmbeddingSurvivesFloat16Storage)
{
    const ml::SamModel sam = ml::SamModel::load((golden() / "sam_tiny.pth").string());
    const ml::SamEmbedding e = sam.encode(loadImage(golden() / "sam_tiny_b/image.npy"));
    const std::string path = (test::scratchDir() / "b.emb").string();
    e.save(path);
    const ml::SamEmbedding back = ml::SamEmbedding::load(path);
    EXPECT_EQ(back.features.shape, e.features.shape);
    EXPECT_EQ(back.inputWidth, e.inputWidth);
    EXPECT_EQ(back.variant, e.variant);
    EXPECT_LE(compare(back.features.data, e.features.data).relL2, 1e-3);  // float16: 11-bit mantissa
    // Decoding from the stored embedding stays within the golden tolerance.
    ml::SamPrompts p;
    p.points.push_back({90.5, 100.25, 1});
    const ml::SamResult r = sam.decode(back, p);
    const Diff d = compare(r.lowResLogits.data, io::readNpy((golden() / "sam_tiny_b/point1_multi_low_res_logits.npy").string()).toFloat());
    EXPECT_LE(d.maxAbs, 1e-2);
    std::printf("  decode from a float16 embedding: low-res logits max abs %.2e, rel-L2 %.2e\n", d.maxAbs, d.relL2);
}

TEST_F(SamGolden, DecodingIntoAReusedResultEqualsAFreshOne)
{
    // An interactive client decodes click after click into one SamResult: its arrays are reused, so every element
    // must be written again (a multimask result after a single-mask one, then the reverse), and a refused decode must
    // leave the previous result as it was.
    const ml::SamModel sam = ml::SamModel::load((golden() / "sam_tiny.pth").string());
    const ml::SamEmbedding e = sam.encode(loadImage(golden() / "sam_tiny_b/image.npy"));
    ml::SamResult reused;
    for (const bool multimask : {false, true, false}) {
        ml::SamPrompts p;
        p.points.push_back({multimask ? 90.5 : 40.0, 100.25, 1});
        p.multimask = multimask;
        sam.decode(e, p, reused);
        const ml::SamResult fresh = sam.decode(e, p);
        EXPECT_EQ(reused.logits.shape, fresh.logits.shape);
        EXPECT_EQ(reused.logits.data, fresh.logits.data);
        EXPECT_EQ(reused.masks, fresh.masks);
        EXPECT_EQ(reused.lowResLogits.data, fresh.lowResLogits.data);
        EXPECT_EQ(reused.iou.data, fresh.iou.data);
        EXPECT_TRUE(reused.probabilities.data.empty());
    }
    const ml::SamResult before = reused;
    EXPECT_THROW(sam.decode(e, ml::SamPrompts{}, reused), std::invalid_argument);  // no point, no box
    EXPECT_EQ(reused.logits.data, before.logits.data);
    EXPECT_EQ(reused.masks, before.masks);
}

TEST_F(SamGolden, MasksWithoutFullLogitsAreTheThresholdedLogits)
{
    // SamPrompts::fullLogits off: no original-size logits kept, the same masks (each row thresholded as it is made),
    // low-resolution logits and IoU; into a result that held full logits before, and back.
    const ml::SamModel sam = ml::SamModel::load((golden() / "sam_tiny.pth").string());
    const ml::SamEmbedding e = sam.encode(loadImage(golden() / "sam_tiny_a/image.npy"));
    ml::SamResult reused;
    for (const bool full : {true, false, true, false}) {
        ml::SamPrompts p;
        p.points.push_back({60.0, 70.5, 1});
        p.points.push_back({20.0, 30.0, 0});
        p.fullLogits = full;
        sam.decode(e, p, reused);
        p.fullLogits = true;
        const ml::SamResult withLogits = sam.decode(e, p);
        ASSERT_EQ(withLogits.masks.size(), withLogits.logits.data.size());
        std::size_t foreground = 0;
        for (std::size_t i = 0; i < withLogits.masks.size(); ++i) {
            ASSERT_EQ(withLogits.masks[i], withLogits.logits.data[i] > 0.0f ? 1 : 0) << i;
            foreground += withLogits.masks[i];
        }
        EXPECT_GT(foreground, 0u);
        EXPECT_LT(foreground, withLogits.masks.size());
        EXPECT_EQ(reused.masks, withLogits.masks);
        EXPECT_EQ(reused.lowResLogits.data, withLogits.lowResLogits.data);
        EXPECT_EQ(reused.iou.data, withLogits.iou.data);
        if (full)
            EXPECT_EQ(reused.logits.data, withLogits.logits.data);
        else
            EXPECT_TRUE(reused.logits.data.empty() && reused.logits.shape.empty());
    }
}
