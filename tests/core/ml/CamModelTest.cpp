// The classifier and CAM engine on models built here (TorchScript defined in C++, saved and loaded back like a user's
// file): layer listing and default layer, first-call capture, control flow, targets (logit, softmax, binary), errors,
// and the alignment of a map with the slice through a sidecar's resize + center crop.

// LibTorch first: Qt's keywords are not involved here, but keep the project's rule of including it before others.
#include <torch/script.h>
#include <torch/torch.h>

// Local
#include "core/ml/Cam.h"
#include "core/ml/Classifier.h"
#include "core/ml/Sidecar.h"
#include "tests/support/Checks.h"
#include "tests/support/SharedData.h"

// Std
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>

using namespace camsight;

using camsight::test::errorOf;

namespace {

std::string savedModel(torch::jit::Module& m, const std::string& name)
{
    const std::string path = (test::scratchDir() / (name + ".pt")).string();
    m.save(path);
    return path;
}

ml::FloatArray fromTensor(const torch::Tensor& t)
{
    const torch::Tensor c = t.contiguous();
    return {std::vector<std::int64_t>(c.sizes().begin(), c.sizes().end()),
            std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel())};
}

// A 3x3 convolution block (conv + relu) with fixed random weights.
torch::jit::Module convBlock(int in, int out, std::uint64_t seed)
{
    torch::manual_seed(seed);
    torch::jit::Module m("ConvBlock");
    m.register_parameter("weight", torch::randn({out, in, 3, 3}) * 0.3, false);
    m.define(R"JIT(
def forward(self, x):
    return torch.relu(torch.conv2d(x, self.weight, None, [1, 1], [1, 1]))
)JIT");
    return m;
}

// Pool + linear head with `classes` outputs.
torch::jit::Module head(int in, int classes, std::uint64_t seed)
{
    torch::manual_seed(seed);
    torch::jit::Module m("Head");
    m.register_parameter("weight", torch::randn({classes, in}), false);
    m.register_parameter("bias", torch::randn({classes}) * 0.1, false);
    m.define(R"JIT(
def forward(self, x):
    return torch.linear(torch.mean(x, [2, 3]), self.weight, self.bias)
)JIT");
    return m;
}

}  // namespace

TEST(Classifier, ListsLayersInForwardOrderAndPicksTheLastSpatialOne)
{
    CAMSIGHT_REQUIRE_SHARED("golden/cam");
    const auto cnn = ml::Classifier::load((test::sharedDir() / "golden/cam/cnn_scripted.pt").string());
    const ml::FloatArray input({1, 3, 128, 128});
    std::vector<std::string> paths;
    for (const auto& l : cnn.modules())
        paths.push_back(l.path);
    EXPECT_NE(std::find(paths.begin(), paths.end(), "layer4.conv2"), paths.end());
    const auto probed = cnn.probe(input);
    std::vector<std::string> top;
    for (const auto& l : probed)
        if (l.path.find('.') == std::string::npos)
            top.push_back(l.path);
    EXPECT_EQ(top, (std::vector<std::string>{"layer1", "layer2", "layer3", "layer4", "avgpool", "flatten", "fc"}));
    for (const auto& l : probed) {
        if (l.path == "layer4") {
            EXPECT_EQ(l.outputShape, (std::vector<std::int64_t>{1, 64, 8, 8}));
            EXPECT_EQ(l.typeName, "Sequential");
        }
        if (l.path == "fc") {
            EXPECT_EQ(l.outputShape, (std::vector<std::int64_t>{1, 3}));
        }
    }
    EXPECT_EQ(cnn.defaultTargetLayer(input), "layer4");

    // Nested: features.block4 is captured inside features; after features come relu (still 8x8), avgpool, ...
    const auto dense = ml::Classifier::load((test::sharedDir() / "golden/cam/densenet_tiny_scripted.pt").string());
    for (const auto& l : dense.probe(input)) {
        if (l.path == "features.block4") {
            EXPECT_EQ(l.outputShape, (std::vector<std::int64_t>{1, 48, 8, 8}));
        }
    }
    EXPECT_EQ(dense.defaultTargetLayer(input), "relu");
}

TEST(Classifier, CapturesTheFirstCallOfAModuleCalledTwice)
{
    torch::jit::Module m("Twice");
    m.register_module("block", convBlock(2, 2, 1));
    m.register_module("head", head(2, 3, 2));
    m.define(R"JIT(
def forward(self, x):
    y = self.block.forward(x)
    z = self.block.forward(y * 2.0)
    return self.head.forward(z)
)JIT");
    const auto model = ml::Classifier::load(savedModel(m, "twice"));
    torch::manual_seed(5);
    const torch::Tensor x = torch::rand({1, 2, 12, 10});
    ml::CamOptions opt;
    opt.layer = "block";
    const auto r = ml::computeCam(model, fromTensor(x), opt);
    torch::jit::Module block = m.attr("block").toModule();
    const torch::Tensor first = block.forward({x}).toTensor();
    EXPECT_TRUE(torch::allclose(torch::from_blob(const_cast<float*>(r.activations.data.data()), {1, 2, 12, 10}), first));
    // And the gradient is the one at the first call: d head(block(2 block(x))) / d block(x), by autograd here.
    torch::Tensor a = first.detach().requires_grad_(true);
    torch::jit::Module h = m.attr("head").toModule();
    const torch::Tensor out = h.forward({block.forward({a * 2.0}).toTensor()}).toTensor();
    const int c = static_cast<int>(out.argmax(1).item<std::int64_t>());
    const torch::Tensor g = torch::autograd::grad({out[0][c]}, {a})[0];
    EXPECT_EQ(r.targetIndex, c);
    EXPECT_TRUE(torch::allclose(torch::from_blob(const_cast<float*>(r.gradients.data.data()), {1, 2, 12, 10}), g, 1e-5, 1e-6));
}

TEST(Classifier, ExplainsWhatCannotBeCaptured)
{
    torch::jit::Module m("Branchy");
    m.register_module("block", convBlock(1, 2, 3));
    m.register_module("unused", convBlock(1, 2, 4));
    m.register_module("head", head(2, 2, 5));
    m.define(R"JIT(
def forward(self, x):
    if bool(x.sum() > 0):
        y = self.block.forward(x)
    else:
        y = torch.cat([x, x], 1)
    return self.head.forward(y)
)JIT");
    const std::string path = savedModel(m, "branchy");
    const auto model = ml::Classifier::load(path);
    const ml::FloatArray x({1, 1, 8, 8}, std::vector<float>(64, 1.0f));
    ml::CamOptions opt;
    opt.layer = "block";
    EXPECT_EQ(errorOf([&] { ml::computeCam(model, x, opt); }),
              path + ": layer 'block' is only called inside control flow (if/loop); choose an enclosing layer");
    opt.layer = "unused";
    EXPECT_EQ(errorOf([&] { ml::computeCam(model, x, opt); }), path + ": layer 'unused' is not called by forward()");
    opt.layer = "nope";
    EXPECT_EQ(errorOf([&] { ml::computeCam(model, x, opt); }), path + ": no submodule named 'nope'");
    opt.layer = "head";
    EXPECT_EQ(errorOf([&] { ml::computeCam(model, x, opt); }),
              path + ": layer 'head' outputs [1, 2], not a spatial map [1, C, h, w] (choose a convolutional layer)");
    opt.layer.clear();
    opt.target.index = 7;
    EXPECT_EQ(errorOf([&] { ml::computeCam(model, ml::FloatArray({1, 1, 8, 8}), opt); }),
              path + ": no submodule has a spatial output (rank >= 4) for an input of shape [1, 1, 8, 8]");

    // Files that are not models.
    const std::string text = (test::scratchDir() / "notes.pt").string();
    std::ofstream(text) << "not a model";
    EXPECT_EQ(errorOf([&] { ml::Classifier::load(text); }),
              text + ": not a TorchScript model (expected a zip archive written by torch.jit.save)");
    EXPECT_EQ(errorOf([&] { ml::Classifier::load("/nonexistent/model.pt"); }),
              "/nonexistent/model.pt: cannot open the model file");
    const std::string zipNoModel = (test::scratchDir() / "empty.pt").string();
    std::ofstream(zipNoModel, std::ios::binary) << std::string("PK\x05\x06", 4) << std::string(18, '\0');
    EXPECT_EQ(errorOf([&] { ml::Classifier::load(zipNoModel); }).rfind(zipNoModel + ": cannot load as TorchScript: ", 0), 0u);
}

TEST(Cam, TargetsLogitSoftmaxAndBinary)
{
    torch::jit::Module m("Three");
    m.register_module("block", convBlock(1, 4, 6));
    m.register_module("head", head(4, 3, 7));
    m.define("def forward(self, x):\n    return self.head.forward(self.block.forward(x))\n");
    const std::string path = savedModel(m, "three");
    const auto model = ml::Classifier::load(path);
    torch::manual_seed(8);
    const ml::FloatArray x = fromTensor(torch::rand({1, 1, 10, 9}));
    ml::CamOptions opt;
    opt.method = ml::CamMethod::HiResCam;
    std::vector<ml::CamResult> perClass;
    for (int c = 0; c < 3; ++c) {
        opt.target.index = c;
        perClass.push_back(ml::computeCam(model, x, opt));
    }
    // d softmax_c / dA = sum_j p_c (delta_cj - p_j) dlogit_j / dA
    const auto& logits = perClass[0].logits.data;
    const float mx = *std::max_element(logits.begin(), logits.end());
    double z = 0;
    for (float l : logits)
        z += std::exp(double(l) - mx);
    std::vector<double> p;
    for (float l : logits)
        p.push_back(std::exp(double(l) - mx) / z);
    opt.target = {ml::CamTarget::Kind::Softmax, 2};
    const auto soft = ml::computeCam(model, x, opt);
    for (std::size_t i = 0; i < soft.gradients.data.size(); ++i) {
        double want = 0;
        for (int j = 0; j < 3; ++j)
            want += p[2] * ((j == 2) - p[j]) * perClass[j].gradients.data[i];
        ASSERT_NEAR(soft.gradients.data[i], want, 1e-6) << i;
    }
    opt.target = {ml::CamTarget::Kind::Logit, 3};
    EXPECT_EQ(errorOf([&] { ml::computeCam(model, x, opt); }), path + ": class 3 is out of range: the model has 3 outputs");
    opt.target = {ml::CamTarget::Kind::Binary, -1};
    EXPECT_EQ(errorOf([&] { ml::computeCam(model, x, opt); }),
              path + ": a binary target needs a model with one output, this one has 3");

    // One output: class 1 explains +output, class 0 explains -output; the default follows the output's sign.
    torch::jit::Module b("Binary");
    b.register_module("block", convBlock(1, 4, 6));
    b.register_module("head", head(4, 1, 9));
    b.define("def forward(self, x):\n    return self.head.forward(self.block.forward(x))\n");
    const auto binary = ml::Classifier::load(savedModel(b, "binary"));
    opt.method = ml::CamMethod::GradCam;
    opt.target = {ml::CamTarget::Kind::Binary, 1};
    const auto pos = ml::computeCam(binary, x, opt);
    opt.target.index = 0;
    const auto neg = ml::computeCam(binary, x, opt);
    for (std::size_t i = 0; i < pos.gradients.data.size(); ++i)
        ASSERT_EQ(pos.gradients.data[i], -neg.gradients.data[i]);
    opt.target.index = -1;
    EXPECT_EQ(ml::computeCam(binary, x, opt).targetIndex, pos.logits.data[0] > 0 ? 1 : 0);
}

// A slice with an asymmetric L-shaped lesion; the model's target layer sees the (pooled) input intensity itself, so
// GradCAM must light up exactly where the lesion is. The sidecar resizes the shorter side to 128 and center-crops
// 112 x 112, which cuts off the lesion's left arm: no map may appear there.
TEST(Cam, MapReturnsOntoTheSlicePixelsItExplains)
{
    torch::jit::Module layer("Pool");
    layer.define("def forward(self, x):\n    return torch.avg_pool2d(x, [4, 4])\n");
    torch::jit::Module m("Probe");
    m.register_module("features", layer);
    m.register_parameter("w", torch::tensor({1.0f, -1.0f}).reshape({2, 1}), false);
    m.define("def forward(self, x):\n    return torch.linear(torch.mean(self.features.forward(x), [2, 3]), self.w)\n");
    const auto model = ml::Classifier::load(savedModel(m, "probe"));

    const int W = 300, H = 200;
    std::vector<float> slice(std::size_t(W) * H, -1000.0f);  // CT-like air background
    std::vector<std::uint8_t> lesion(slice.size(), 0);
    auto paint = [&](int x0, int y0, int x1, int y1) {
        for (int y = y0; y < y1; ++y)
            for (int x = x0; x < x1; ++x) {
                slice[std::size_t(y) * W + x] = 60.0f;
                lesion[std::size_t(y) * W + x] = 1;
            }
    };
    paint(180, 40, 220, 150);  // vertical bar
    paint(20, 110, 220, 150);  // horizontal arm reaching left, beyond the crop (x < 62.5 on the slice)

    const ml::ModelSidecar sidecar = ml::ModelSidecar::parse(R"({"input_size": [112, 112], "channels": 1,
        "resize": {"shorter_side": 128}, "crop": "center", "intensity": {"window": {"center": 40, "width": 400}},
        "mean": 0.5, "std": 0.25})", "test sidecar");
    ml::InputGeometry g;
    const ml::FloatArray input = ml::prepareInput(sidecar, slice, W, H, 1, &g);
    EXPECT_EQ(g.resizedWidth, 192);
    EXPECT_EQ(g.resizedHeight, 128);
    EXPECT_EQ(g.cropX, 40);
    EXPECT_EQ(g.cropY, 8);
    ml::CamOptions opt;
    opt.target.index = 0;
    const auto r = ml::computeCam(model, input, opt);
    ASSERT_EQ(r.raw.shape, (std::vector<std::int64_t>{28, 28}));
    const std::vector<float> onSlice = ml::mapToSlice(g, r.cam.data);

    // Where the model could see (inside the crop), map >= 0.5 must coincide with the lesion.
    auto iou = [&](const std::vector<float>& map, bool visibleOnly) {
        std::size_t inter = 0, uni = 0;
        for (int y = 0; y < H; ++y)
            for (int x = 0; x < W; ++x) {
                const bool visible = x >= 62.5 && x < 237.5 && y >= 12.5 && y < 187.5;
                if (visibleOnly && !visible)
                    continue;
                const std::size_t i = std::size_t(y) * W + x;
                const bool a = map[i] >= 0.5f, b = lesion[i] != 0;
                inter += a && b;
                uni += a || b;
            }
        return double(inter) / double(uni);
    };
    const double aligned = iou(onSlice, true);
    EXPECT_GT(aligned, 0.85);
    for (int y = 0; y < H; ++y)
        for (int x = 0; x < 62; ++x)
            ASSERT_EQ(onSlice[std::size_t(y) * W + x], 0.0f) << "outside the crop at x " << x << " y " << y;
    // The mistake to avoid: stretching the cropped map over the whole slice puts it somewhere else.
    ml::InputGeometry naive = g;
    naive.resizedWidth = 112;
    naive.resizedHeight = 112;
    naive.cropX = naive.cropY = 0;
    const double stretched = iou(ml::mapToSlice(naive, r.cam.data), true);
    EXPECT_LT(stretched, aligned - 0.3);
    std::printf("  IoU of map >= 0.5 with the lesion where the model sees: %.3f aligned, %.3f crop ignored\n", aligned,
                stretched);
}

TEST(Sidecar, FollowsTorchvisionResizeAndCropArithmetic)
{
    const auto s = ml::ModelSidecar::parse(R"({"input_size": [224, 224], "resize": {"shorter_side": 256}, "crop": "center"})", "s");
    // 512 x 400 (W x H): short side 400 -> 256, long int(256 * 512 / 400) = 327; offsets round((327 - 224) / 2) = 52
    // (51.5 to even) and 16.
    const ml::InputGeometry g = ml::planInput(s, 512, 400);
    EXPECT_EQ(g.resizedWidth, 327);
    EXPECT_EQ(g.resizedHeight, 256);
    EXPECT_EQ(g.cropX, 52);
    EXPECT_EQ(g.cropY, 16);
    const ml::InputGeometry tall = ml::planInput(s, 300, 301);  // int(256 * 301 / 300) = 256: (256-224)/2 = 16
    EXPECT_EQ(tall.resizedHeight, 256);
    EXPECT_EQ(tall.cropY, 16);
    EXPECT_EQ(ml::ModelSidecar::pathBeside("/m/classifier.pt"), "/m/classifier.json");
}

TEST(Sidecar, NamesTheFieldThatIsWrong)
{
    auto error = [](const std::string& json) { return errorOf([&] { ml::ModelSidecar::parse(json, "side.json"); }); };
    EXPECT_EQ(error(R"({"input_size": [224]})"), "side.json: 'input_size' must be [height, width]");
    EXPECT_EQ(error(R"({"input_size": [224, 224], "meen": [0.5]})"), "side.json: unknown field 'meen'");
    EXPECT_EQ(error(R"({"input_size": [224, 224], "channels": 3, "mean": [0.5, 0.5]})"),
              "side.json: 'mean' and 'std' need 1 or 3 values");
    EXPECT_EQ(error(R"({"input_size": [224, 224], "resize": {"shorter_side": 256}})"),
              "side.json: a resize to another size than input_size needs \"crop\": \"center\"");
    EXPECT_EQ(error(R"({"input_size": [224, 224], "std": [0]})"), "side.json: 'std' values must be positive");
    EXPECT_EQ(error(R"({"input_size": [0.5, 224]})"), "side.json: 'input_size' must be a whole number from 1 to 65536");
    EXPECT_EQ(error("{\"input_size\": [224, 224],}"), "side.json: JSON: expected '\"' at line 1, column 27");
    const auto crop = ml::ModelSidecar::parse(R"({"input_size": [300, 300], "resize": {"shorter_side": 256}, "crop": "center"})", "s");
    EXPECT_EQ(errorOf([&] { ml::planInput(crop, 512, 400); }), "the crop 300x300 is larger than the resized slice 327x256");
}

TEST(Sidecar, PreparesChannelsAndNormalisation)
{
    const auto s = ml::ModelSidecar::parse(
        R"({"input_size": [2, 2], "channels": 3, "mean": [0.5, 0.25, 0], "std": [0.5, 0.25, 1], "intensity": {"scale": 100}})", "s");
    const ml::FloatArray in = ml::prepareInput(s, {0, 50, 100, 25}, 2, 2, 1);
    ASSERT_EQ(in.shape, (std::vector<std::int64_t>{1, 3, 2, 2}));
    const std::vector<float> want{-1, 0, 1, -0.5f, -1, 1, 3, 0, 0, 0.5f, 1, 0.25f};
    for (std::size_t i = 0; i < want.size(); ++i)
        EXPECT_NEAR(in.data[i], want[i], 1e-6) << i;
}

// ScoreCAM against its definition, on a model whose target layer has dead channels (their upsampled maps are
// constant, so their masked inputs are all zero and share one score, which the engine computes once).
TEST(Cam, ScoreCamMatchesItsDefinitionWithDeadChannels)
{
    torch::manual_seed(11);
    torch::Tensor w = torch::randn({6, 1, 3, 3});
    w[1].zero_();
    w[4].zero_();  // relu(conv) of these channels is 0 everywhere
    torch::jit::Module block("Dead");
    block.register_parameter("weight", w, false);
    block.define(R"JIT(
def forward(self, x):
    return torch.relu(torch.conv2d(x, self.weight, None, [2, 2], [1, 1]))
)JIT");
    torch::jit::Module m("ScoreNet");
    m.register_module("block", block);
    m.register_module("head", head(6, 3, 12));
    m.define("def forward(self, x):\n    return self.head.forward(self.block.forward(x))\n");
    const auto model = ml::Classifier::load(savedModel(m, "scorenet"));
    const torch::Tensor x = torch::rand({1, 1, 16, 12});
    ml::CamOptions opt;
    opt.method = ml::CamMethod::ScoreCam;
    opt.layer = "block";
    opt.target.index = 2;
    opt.scoreCamBatch = 4;
    const auto r = ml::computeCam(model, fromTensor(x), opt);

    torch::NoGradGuard noGrad;
    const torch::Tensor a = m.attr("block").toModule().forward({x}).toTensor();
    namespace F = torch::nn::functional;
    const torch::Tensor up =
        F::interpolate(a, F::InterpolateFuncOptions().size(std::vector<std::int64_t>{16, 12}).mode(torch::kBilinear).align_corners(true));
    ASSERT_EQ(r.scoreCamScores.data.size(), 6u);
    for (int k = 0; k < 6; ++k) {
        torch::Tensor u = up[0][k];
        u = (u - u.min()) / (u.max() - u.min() + 1e-8);
        const float want = m.forward({x * u}).toTensor()[0][2].item<float>();
        EXPECT_NEAR(r.scoreCamScores.data[k], want, 1e-5) << "channel " << k;
    }
    EXPECT_EQ(r.scoreCamScores.data[1], r.scoreCamScores.data[4]);
}
