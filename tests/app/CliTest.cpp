// camsight-cli as a user runs it: exit codes, JSON output, and error messages that name the file and the problem.

// Local
#include "core/io/Npy.h"
#include "core/metrics/Report.h"
#include "tests/support/MiniJson.h"
#include "tests/support/Checks.h"
#include "tests/support/Cli.h"
#include "tests/support/SharedData.h"

// Std
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

using camsight::test::cli;
using camsight::test::CliRun;
using camsight::test::Json;
namespace fs = std::filesystem;

using camsight::test::maxDiff;

namespace {


TEST(Cli, HelpListsCommands)
{
    const CliRun r = cli("--help");
    EXPECT_EQ(r.code, 0);
    EXPECT_NE(r.out.find("metrics"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("version"), std::string::npos) << r.out;
    EXPECT_EQ(cli("").code, 2);
    const CliRun unknown = cli("frobnicate");
    EXPECT_EQ(unknown.code, 2);
    EXPECT_NE(unknown.out.find("unknown command 'frobnicate'"), std::string::npos) << unknown.out;
}

TEST(Cli, VersionReportsLibrariesThreadsAndBlas)
{
    const CliRun r = cli("--version --json");
    ASSERT_EQ(r.code, 0) << r.out;
    const Json j = Json::parse(r.out);
    for (const char* k : {"camsight", "qt", "vtk", "dcmtk", "itk", "libtorch", "blas", "blas_library"})
        EXPECT_FALSE(j[k].str.empty()) << k;
    EXPECT_EQ(std::stoi(j["intra_op_threads"].str), static_cast<int>(std::thread::hardware_concurrency()));
    EXPECT_NE(j["blas"].str, "reference BLAS") << j["blas_library"].str;
    const CliRun text = cli("--version");
    EXPECT_NE(text.out.find("libtorch: "), std::string::npos) << text.out;
}

TEST(Cli, MetricsMatchesLibraryAndGolden)
{
    CAMSIGHT_REQUIRE_SHARED("golden/metrics");
    const fs::path dir = camsight::test::sharedDir() / "golden/metrics/cases/blob_partial_64";
    const CliRun r = cli("metrics --heatmap " + (dir / "heatmap.npy").string() + " --mask " + (dir / "mask.npy").string() +
                      " --spacing 0.5,0.5");
    ASSERT_EQ(r.code, 0) << r.out;
    const Json j = Json::parse(r.out);
    const Json m = Json::parseFile((dir / "manifest.json").string());
    EXPECT_EQ(j["PointingGame"].number(), 1.0);
    EXPECT_NEAR(j["RelevanceMassAccuracy"].number(), m["own_metrics"]["f64_relevance_mass_accuracy_raw"].number(), 1e-12);
    EXPECT_NEAR(j["AUC"].number(), m["own_metrics"]["f64_auc_mann_whitney_raw"].number(), 1e-9);
    EXPECT_EQ(j["dice_thr0p5"].number(), m["own_metrics"]["dice_thr0p5"].number());
    // Spacing 0.5 mm halves the pixel distance (0 here: the peak is inside the mask).
    EXPECT_DOUBLE_EQ(j["peak_distance_mm"].number(), 0.5 * j["first_argmax_min_dist_to_mask_px"].number());
}

TEST(Cli, MetricsOnVolumesAndNullForUndefined)
{
    const fs::path tmp = camsight::test::scratchDir();
    std::vector<float> h(2 * 3 * 4, 0.1f);
    std::vector<std::uint8_t> m(h.size(), 0);
    h[17] = 1.0f;  // z = 1, y = 1, x = 1
    m[5] = 1;      // z = 0, y = 1, x = 1: one slice away
    camsight::io::writeNpy((tmp / "cs_h3.npy").string(), h.data(), {2, 3, 4});
    camsight::io::writeNpy((tmp / "cs_m3.npy").string(), m.data(), {2, 3, 4});
    const CliRun r = cli("metrics --heatmap " + (tmp / "cs_h3.npy").string() + " --mask " + (tmp / "cs_m3.npy").string() +
                      " --spacing 0.7,0.7,3");
    ASSERT_EQ(r.code, 0) << r.out;
    const Json j = Json::parse(r.out);
    EXPECT_DOUBLE_EQ(j["peak_distance_mm"].number(), 3.0);
    EXPECT_EQ(j["PointingGame"].number(), 0.0);
    EXPECT_EQ(j["n_pixels"].number(), 24.0);

    std::fill(m.begin(), m.end(), 0);
    camsight::io::writeNpy((tmp / "cs_m3.npy").string(), m.data(), {2, 3, 4});
    const Json empty = Json::parse(cli("metrics --heatmap " + (tmp / "cs_h3.npy").string() + " --mask " +
                                       (tmp / "cs_m3.npy").string()).out);
    EXPECT_TRUE(std::isnan(empty["PointingGame"].number())) << "empty mask -> null";
    EXPECT_EQ(empty["PointingGame"].type, Json::Type::Null);
}

TEST(Cli, BadInputGivesOneLineErrorsNamingTheFile)
{
    const fs::path tmp = camsight::test::scratchDir();
    std::vector<float> h(12, 0.f);
    camsight::io::writeNpy((tmp / "cs_h.npy").string(), h.data(), {3, 4});
    camsight::io::writeNpy((tmp / "cs_m.npy").string(), h.data(), {4, 3});
    const CliRun mismatch = cli("metrics --heatmap " + (tmp / "cs_h.npy").string() + " --mask " + (tmp / "cs_m.npy").string());
    EXPECT_EQ(mismatch.code, 1);
    EXPECT_NE(mismatch.out.find("cs_m.npy: mask shape (4, 3) does not match heatmap shape (3, 4)"), std::string::npos)
        << mismatch.out;
    const CliRun missing = cli("metrics --heatmap /no/such.npy --mask " + (tmp / "cs_m.npy").string());
    EXPECT_EQ(missing.code, 1);
    EXPECT_NE(missing.out.find("/no/such.npy: cannot open file"), std::string::npos) << missing.out;
    const CliRun usage = cli("metrics --heatmap");
    EXPECT_EQ(usage.code, 2);
    EXPECT_NE(usage.out.find("--heatmap needs a value"), std::string::npos) << usage.out;
    const CliRun spacing = cli("metrics --heatmap a --mask b --spacing 1,x");
    EXPECT_EQ(spacing.code, 2);  // arguments are checked before any file is read
    EXPECT_NE(spacing.out.find("--spacing: '1,x' is not a comma-separated list of numbers"), std::string::npos) << spacing.out;
}

}  // namespace

namespace {

std::vector<float> slicedGolden(const fs::path& file, std::size_t index)
{
    const auto a = camsight::io::readNpy(file.string());
    const auto all = a.toFloat();
    const std::size_t per = all.size() / a.shape.at(0);
    return {all.begin() + index * per, all.begin() + (index + 1) * per};
}

TEST(Cli, ClipTokenizesAndEncodesAsTheGolden)
{
    CAMSIGHT_REQUIRE_SHARED("golden/clip");
    const fs::path g = camsight::test::sharedDir() / "golden/clip";
    const std::string vocab = (g / "bpe_simple_vocab_16e6.txt.gz").string();
    const CliRun t = cli("clip --vocab " + vocab + " --tokenize 'a chest x-ray showing pneumonia'");
    ASSERT_EQ(t.code, 0) << t.out;
    const Json tj = Json::parse(t.out);
    const auto golden = camsight::io::readNpy((g / "model/prompt_tokens.npy").string()).toDouble();
    ASSERT_EQ(tj["tokens"].arr.size(), 77u);
    for (std::size_t i = 0; i < 77; ++i)
        EXPECT_EQ(tj["tokens"][i].number(), golden[i]) << i;
    const fs::path out = camsight::test::scratchDir() / "clip-image.npy";
    const CliRun e = cli("clip --model " + (g / "model/clip_tiny_jit.pt").string() + " --encode-image " +
                         (g / "model/image_rgb_uint8.npy").string() + " --out " + out.string());
    ASSERT_EQ(e.code, 0) << e.out;
    EXPECT_LE(maxDiff(camsight::io::readNpy(out.string()).toFloat(),
                      camsight::io::readNpy((g / "model/encode_image.npy").string()).toFloat()),
              1e-5);
    const CliRun none = cli("clip --vocab " + vocab);
    EXPECT_EQ(none.code, 2);
    const CliRun missing = cli("clip --vocab /nonexistent/vocab.txt.gz --tokenize x");
    EXPECT_NE(missing.code, 0);
    EXPECT_NE(missing.out.find("/nonexistent/vocab.txt.gz"), std::string::npos) << missing.out;
}

TEST(Cli, TextSegmentWritesMasksAndScores)
{
    CAMSIGHT_REQUIRE_SHARED("golden/clip");
    CAMSIGHT_REQUIRE_SHARED("golden/sam");
    const fs::path g = camsight::test::sharedDir() / "golden";
    for (const std::string method : {"clipsam", "similarity"}) {
        const fs::path out = camsight::test::scratchDir() / ("text-" + method);
        const CliRun r = cli("text-segment --sam " + (g / "sam/sam_tiny.pth").string() + " --clip " +
                             (g / "clip/model/clip_tiny_jit.pt").string() + " --vocab " +
                             (g / "clip/bpe_simple_vocab_16e6.txt.gz").string() + " --image " +
                             (g / "sam/sam_tiny_a/image.npy").string() + " --text 'a nodule' --method " + method +
                             " --points-per-side 4 --pred-iou-thresh 0 --stability-thresh 0 --top 2 --out " + out.string());
        ASSERT_EQ(r.code, 0) << r.out;
        const Json j = Json::parseFile((out / "scores.json").string());
        const auto masks = camsight::io::readNpy((out / "masks.npy").string());
        EXPECT_EQ(masks.type, camsight::io::NpyType::UInt8);
        EXPECT_EQ(masks.shape, (std::vector<std::size_t>{j["masks"].arr.size(), 333, 517}));
        EXPECT_GE(j["masks"].arr.size(), 1u);
        EXPECT_LE(j["masks"].arr.size(), 2u);
        for (const auto& m : j["masks"].arr) {
            EXPECT_GT(m["text_probability"].number(), 0.0);
            EXPECT_LT(m["text_probability"].number(), 1.0);
        }
    }
    // Both methods, and the agreement of their best masks, recomputed here from the two mask files.
    const fs::path out = camsight::test::scratchDir() / "text-both";
    const CliRun both = cli("text-segment --sam " + (g / "sam/sam_tiny.pth").string() + " --clip " +
                            (g / "clip/model/clip_tiny_jit.pt").string() + " --vocab " +
                            (g / "clip/bpe_simple_vocab_16e6.txt.gz").string() + " --image " +
                            (g / "sam/sam_tiny_a/image.npy").string() + " --text 'a nodule' --method both" +
                            " --points-per-side 4 --pred-iou-thresh 0 --stability-thresh 0 --top 2 --out " + out.string());
    ASSERT_EQ(both.code, 0) << both.out;
    const Json j = Json::parseFile((out / "scores.json").string());
    const auto a = camsight::io::readNpy((out / "masks.npy").string());
    const auto b = camsight::io::readNpy((out / "similarity_masks.npy").string());
    EXPECT_EQ(a.shape[0], j["clipsam"]["masks"].arr.size());
    EXPECT_EQ(b.shape[0], j["similarity"]["masks"].arr.size());
    const std::size_t plane = 333 * 517;
    std::size_t inter = 0, uni = 0;
    for (std::size_t i = 0; i < plane; ++i) {
        inter += a.bytes[i] && b.bytes[i];
        uni += a.bytes[i] || b.bytes[i];
    }
    const double iou = uni ? double(inter) / double(uni) : 1.0;
    EXPECT_NEAR(j["agreement"]["iou"].number(), iou, 1e-12);
    EXPECT_EQ(j["agreement"]["agree"].boolean, iou >= 0.5);
    std::printf("  clipsam vs similarity (tiny random-weight models): IoU %.3f\n", iou);
    const CliRun bad = cli("text-segment --sam a --clip b --vocab c --image d --text x --method magic --out /tmp/x");
    EXPECT_EQ(bad.code, 2);
    EXPECT_NE(bad.out.find("--method is clipsam, similarity or both"), std::string::npos) << bad.out;
}

}  // namespace

TEST(Cli, CamWritesTheGoldenMaps)
{
    CAMSIGHT_REQUIRE_SHARED("golden/cam");
    const fs::path g = camsight::test::sharedDir() / "golden/cam";
    const fs::path out = camsight::test::scratchDir() / "cam-golden";
    const CliRun r = cli("cam --model " + (g / "cnn_traced.pt").string() + " --layer layer4 --method hirescam --class 2 --input " +
                         (g / "inputs/image1.npy").string() + " --out " + out.string());
    ASSERT_EQ(r.code, 0) << r.out;
    const Json j = Json::parse(r.out);
    EXPECT_EQ(j["layer"].str, "layer4");
    EXPECT_EQ(j["method"].str, "hirescam");
    EXPECT_EQ(j["class"].num, 2);
    const fs::path ref = g / "cnn/image1/target2";
    const auto cam = camsight::io::readNpy((out / "cam.npy").string());
    EXPECT_EQ(cam.shape, (std::vector<std::size_t>{128, 128}));
    EXPECT_LE(maxDiff(cam.toFloat(), slicedGolden(ref / "cam_final.npy", 1)), 1e-4);  // index 1 = HiResCAM
    const auto low = slicedGolden(ref / "cam_lowres.npy", 1);
    double scale = 0;
    for (float v : low)
        scale = std::max(scale, double(std::fabs(v)));
    EXPECT_LE(maxDiff(camsight::io::readNpy((out / "raw.npy").string()).toFloat(), low), 1e-4 * scale);
    EXPECT_LE(maxDiff(camsight::io::readNpy((out / "logits.npy").string()).toFloat(),
                      camsight::io::readNpy((g / "cnn/image1/logits.npy").string()).toFloat()),
              1e-5);
}

TEST(Cli, CamOnAnImageComesBackOnItsPixelGrid)
{
    CAMSIGHT_REQUIRE_SHARED("golden/cam");
    const fs::path g = camsight::test::sharedDir() / "golden/cam";
    const fs::path dir = camsight::test::scratchDir() / "cam-image";
    fs::create_directories(dir);
    // A 160 x 200 RGB picture (values 0..255); the sidecar resizes its short side to 128 and crops 128 x 128.
    std::vector<std::uint8_t> rgb(160 * 200 * 3);
    for (std::size_t i = 0; i < rgb.size(); ++i)
        rgb[i] = static_cast<std::uint8_t>((i * 7) % 251);
    camsight::io::writeNpy((dir / "picture.npy").string(), rgb.data(), {160, 200, 3});
    {
        std::ofstream s(dir / "sidecar.json");
        s << R"({"input_size": [128, 128], "resize": {"shorter_side": 128}, "crop": "center",
                 "intensity": {"scale": 255}, "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225],
                 "class_names": ["normal", "benign", "malignant"], "target_layer": "layer4"})";
    }
    const CliRun r = cli("cam --model " + (g / "cnn_scripted.pt").string() + " --image " + (dir / "picture.npy").string() +
                         " --sidecar " + (dir / "sidecar.json").string() + " --class 1 --out " + (dir / "out").string());
    ASSERT_EQ(r.code, 0) << r.out;
    const Json j = Json::parse(r.out);
    EXPECT_EQ(j["layer"].str, "layer4");
    EXPECT_EQ(j["class_name"].str, "benign");
    EXPECT_DOUBLE_EQ(j["image_coverage"].num, 128.0 / 160.0);  // resized to 160 x 128: 16 columns cut each side
    const auto onImage = camsight::io::readNpy((dir / "out/cam_image.npy").string());
    ASSERT_EQ(onImage.shape, (std::vector<std::size_t>{160, 200}));
    const auto v = onImage.toFloat();
    float inside = 0;
    for (std::size_t y = 0; y < 160; ++y) {
        for (std::size_t x = 0; x < 200; ++x) {
            const float m = v[y * 200 + x];
            if (x < 20 || x >= 180) {  // 16 resized columns = 20 picture columns cut on each side
                ASSERT_EQ(m, 0.0f) << x << "," << y;
            }
            inside = std::max(inside, m);
        }
    }
    EXPECT_GT(inside, 0.9f);  // the scaled map reaches ~1 somewhere it could see
}

TEST(Cli, CamRefusesBadCallsClearly)
{
    const CliRun missing = cli("cam --model /nonexistent/m.pt --input /nonexistent/x.npy --out /tmp/none");
    EXPECT_EQ(missing.code, 1);
    EXPECT_NE(missing.out.find("/nonexistent/m.pt: cannot open the model file"), std::string::npos) << missing.out;
    const CliRun both = cli("cam --model m.pt --input x.npy --image y.png --out /tmp/none");
    EXPECT_EQ(both.code, 2);
    EXPECT_NE(both.out.find("give exactly one of --input"), std::string::npos) << both.out;
    const CliRun cls = cli("cam --model m.pt --input x.npy --class abc --out /tmp/none");
    EXPECT_EQ(cls.code, 2);
    EXPECT_NE(cls.out.find("--class takes a class index"), std::string::npos) << cls.out;
}

TEST(Cli, SamWritesTheGoldenMasks)
{
    CAMSIGHT_REQUIRE_SHARED("golden/sam");
    const fs::path g = camsight::test::sharedDir() / "golden/sam";
    const fs::path out = camsight::test::scratchDir() / "sam-golden";
    const CliRun r = cli("sam --checkpoint " + (g / "sam_tiny.pth").string() + " --image " + (g / "sam_tiny_a/image.npy").string() +
                         " --box 250,135,430,265.5 --point 260,240.25,0 --out " + out.string());
    ASSERT_EQ(r.code, 0) << r.out;
    const Json j = Json::parse(r.out);
    EXPECT_EQ(j["masks"].num, 1);
    auto near = [](const fs::path& a, const fs::path& b, double tol) {
        return maxDiff(camsight::io::readNpy(a.string()).toFloat(), camsight::io::readNpy(b.string()).toFloat()) <= tol;
    };
    EXPECT_TRUE(near(out / "low_res_logits.npy", g / "sam_tiny_a/box_neg_single_low_res_logits.npy", 1e-3));
    EXPECT_TRUE(near(out / "logits.npy", g / "sam_tiny_a/box_neg_single_logits.npy", 1e-3));
    EXPECT_TRUE(near(out / "iou_predictions.npy", g / "sam_tiny_a/box_neg_single_iou.npy", 1e-4));
    EXPECT_TRUE(near(out / "embedding.npy", g / "sam_tiny_a/embedding.npy", 1e-3));
    const auto masks = camsight::io::readNpy((out / "masks.npy").string());
    EXPECT_EQ(masks.type, camsight::io::NpyType::UInt8);
    EXPECT_EQ(masks.shape, (std::vector<std::size_t>{1, 333, 517}));
}

TEST(Cli, SamMedSamModeWritesProbabilities)
{
    CAMSIGHT_REQUIRE_SHARED("golden/sam");
    const fs::path g = camsight::test::sharedDir() / "golden/sam";
    const fs::path out = camsight::test::scratchDir() / "medsam";
    const CliRun r = cli("sam --medsam --checkpoint " + (g / "sam_tiny.pth").string() + " --image " +
                         (g / "medsam_tiny_ct/ct_window_uint8.npy").string() + " --box 55,55,160,135 --out " + out.string());
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_LE(maxDiff(camsight::io::readNpy((out / "prob.npy").string()).toFloat(),
                      camsight::io::readNpy((g / "medsam_tiny_ct/prob.npy").string()).toFloat()),
              1e-3);
    const auto mask = camsight::io::readNpy((out / "masks.npy").string());
    const auto ref = camsight::io::readNpy((g / "medsam_tiny_ct/mask.npy").string());
    EXPECT_EQ(mask.bytes, ref.bytes);
}

TEST(Cli, SamRefusesBadPrompts)
{
    const CliRun none = cli("sam --checkpoint x.pth --image y.npy --out /tmp/none");
    EXPECT_EQ(none.code, 2);
    EXPECT_NE(none.out.find("give at least one --point"), std::string::npos) << none.out;
    const CliRun label = cli("sam --checkpoint x.pth --image y.npy --point 1,2,3 --out /tmp/none");
    EXPECT_EQ(label.code, 2);
    EXPECT_NE(label.out.find("--point takes X,Y,L"), std::string::npos) << label.out;
    const CliRun box = cli("sam --checkpoint x.pth --image y.npy --box 5,5,1,1 --out /tmp/none");
    EXPECT_EQ(box.code, 2);
    CAMSIGHT_REQUIRE_SHARED("golden/sam");
    const fs::path g = camsight::test::sharedDir() / "golden/sam";
    const CliRun outside = cli("sam --checkpoint " + (g / "sam_tiny.pth").string() + " --image " +
                               (g / "sam_tiny_b/image.npy").string() + " --point 900,10,1 --out /tmp/none");
    EXPECT_EQ(outside.code, 2);
    EXPECT_NE(outside.out.find("lies outside the 256 x 256 image"), std::string::npos) << outside.out;
    const CliRun wrong = cli("sam --checkpoint " + (camsight::test::sharedDir() / "golden/cam/cnn_scripted.pt").string() +
                             " --image " + (g / "sam_tiny_b/image.npy").string() + " --point 10,10,1 --out /tmp/none");
    EXPECT_EQ(wrong.code, 1);
    EXPECT_NE(wrong.out.find("a TorchScript model (torch.jit.save), not a checkpoint"), std::string::npos) << wrong.out;
}

TEST(Cli, DicomInfoDescribesTheSeries)
{
    CAMSIGHT_REQUIRE_SHARED("data/dicom/series/ge_genesis_mr_wrist_coronal_16sl");
    const CliRun r = cli("dicom-info " + (camsight::test::sharedDir() / "data/dicom/series/ge_genesis_mr_wrist_coronal_16sl").string());
    ASSERT_EQ(r.code, 0) << r.out;
    const Json j = Json::parse(r.out);
    ASSERT_EQ(j["series"].arr.size(), 1u);
    const Json& s = j["series"][0];
    EXPECT_EQ(s["modality"].str, "MR");
    EXPECT_EQ(s["dimensions"].numbers(), (std::vector<double>{256, 256, 16}));
    EXPECT_EQ(s["files"].num, 16);
    EXPECT_NEAR(s["spacing"][0].num, 0.234375, 1e-9);
    EXPECT_NEAR(s["spacing"][2].num, 2.0, 1e-5);
    // Direction cosines of the three axes (rows to the left, columns to the feet, slices posterior).
    EXPECT_EQ(s["direction"].numbers(), (std::vector<double>{1, 0, 0, 0, 0, -1, 0, 1, 0}));
    EXPECT_EQ(cli("dicom-info").code, 2);
    const CliRun missing = cli("dicom-info /nonexistent/study");
    EXPECT_EQ(missing.code, 1);
    EXPECT_NE(missing.out.find("/nonexistent/study: not a folder"), std::string::npos) << missing.out;
}
