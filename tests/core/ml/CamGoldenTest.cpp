// Golden comparison against ../shared/golden/cam (jacobgil/pytorch-grad-cam 1.5.5 on Debian's torch 1.13). Tolerances
// are the README's: logits, activations, gradients 1e-5 max-abs; channel weights and ScoreCAM scores 1e-4 relative
// to the largest reference value; low-resolution maps 1e-4 x max|ref| (eigen methods 1e-3 after aligning the
// arbitrary sign of the singular vector); final maps 1e-4 (eigen 1e-3).

// Local
#include "core/io/Npy.h"
#include "core/ml/Cam.h"
#include "core/ml/Classifier.h"
#include "tests/support/Checks.h"
#include "tests/support/SharedData.h"

// Std
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

using namespace camsight;
namespace fs = std::filesystem;

using camsight::test::maxDiff;

namespace {

fs::path golden() { return test::sharedDir() / "golden/cam"; }

io::NpyArray npy(const fs::path& p) { return io::readNpy(p.string()); }

double maxAbs(const std::vector<float>& v)
{
    double m = 0;
    for (float x : v)
        m = std::max(m, double(std::fabs(x)));
    return m;
}

std::vector<float> slice(const io::NpyArray& stacked, std::size_t index)
{
    const auto all = stacked.toFloat();
    const std::size_t per = all.size() / stacked.shape.at(0);
    return {all.begin() + index * per, all.begin() + (index + 1) * per};
}

struct MethodCase {
    const char* goldenName;
    ml::CamMethod method;
    bool eigenSmooth;
    bool eigen;
    const char* weightsFile;  // weights_<M>.npy or nullptr
};

const MethodCase kMethods[10] = {
    {"GradCAM", ml::CamMethod::GradCam, false, false, "weights_GradCAM.npy"},
    {"HiResCAM", ml::CamMethod::HiResCam, false, false, nullptr},
    {"GradCAMPlusPlus", ml::CamMethod::GradCamPlusPlus, false, false, "weights_GradCAMPlusPlus.npy"},
    {"XGradCAM", ml::CamMethod::XGradCam, false, false, "weights_XGradCAM.npy"},
    {"LayerCAM", ml::CamMethod::LayerCam, false, false, nullptr},
    {"EigenCAM", ml::CamMethod::EigenCam, false, true, nullptr},
    {"ScoreCAM", ml::CamMethod::ScoreCam, false, false, "weights_ScoreCAM.npy"},
    {"EigenGradCAM", ml::CamMethod::EigenGradCam, false, true, nullptr},
    {"GradCAMElementWise", ml::CamMethod::GradCamElementWise, false, false, nullptr},
    {"GradCAM_eigen_smooth", ml::CamMethod::GradCam, true, true, nullptr},
};

struct ModelCase {
    const char* file;
    const char* dir;
    const char* layer;
};

class CamGolden : public ::testing::TestWithParam<ModelCase> {
protected:
    void SetUp() override { CAMSIGHT_REQUIRE_SHARED("golden/cam"); }
};

TEST_P(CamGolden, EveryMethodMatchesPytorchGradCam)
{
    const ModelCase mc = GetParam();
    const ml::Classifier model = ml::Classifier::load((golden() / mc.file).string());
    int cases = 0;
    double worst[10] = {};
    for (int image = 0; image < 2; ++image) {
        const fs::path imageDir = golden() / mc.dir / ("image" + std::to_string(image));
        const io::NpyArray in = npy(golden() / "inputs" / ("image" + std::to_string(image) + ".npy"));
        ml::FloatArray input({in.shape.begin(), in.shape.end()}, in.toFloat());
        const auto logitsRef = npy(imageDir / "logits.npy").toFloat();
        const auto actRef = npy(imageDir / "activations.npy").toFloat();
        ASSERT_LT(maxDiff(model.forward(input).data, logitsRef), 1e-5);
        for (const auto& entry : fs::directory_iterator(imageDir)) {
            if (!entry.is_directory())
                continue;
            const fs::path dir = entry.path();
            const int target = std::stoi(dir.filename().string().substr(6));  // "target<c>"
            SCOPED_TRACE(dir.string());
            const auto gradsRef = npy(dir / "grads.npy").toFloat();
            const io::NpyArray preRef = npy(dir / "cam_lowres_prerelu.npy");
            const io::NpyArray lowRef = npy(dir / "cam_lowres.npy");
            const io::NpyArray finalRef = npy(dir / "cam_final.npy");
            for (int m = 0; m < 10; ++m) {
                const MethodCase& k = kMethods[m];
                SCOPED_TRACE(k.goldenName);
                ml::CamOptions opt;
                opt.method = k.method;
                opt.layer = mc.layer;
                opt.eigenSmooth = k.eigenSmooth;
                opt.target.index = target;
                const ml::CamResult r = ml::computeCam(model, input, opt);
                EXPECT_EQ(r.targetIndex, target);
                EXPECT_LT(maxDiff(r.logits.data, logitsRef), 1e-5);
                EXPECT_LT(maxDiff(r.activations.data, actRef), 1e-5);
                if (!r.gradients.empty()) {
                    EXPECT_LT(maxDiff(r.gradients.data, gradsRef), 1e-5);
                }
                if (k.weightsFile) {
                    const auto w = npy(dir / k.weightsFile).toFloat();
                    EXPECT_LE(maxDiff(r.weights.data, w), 1e-4 * maxAbs(w)) << k.weightsFile;
                }
                if (k.method == ml::CamMethod::ScoreCam) {
                    const auto s = npy(dir / "scorecam_scores.npy").toFloat();
                    EXPECT_LE(maxDiff(r.scoreCamScores.data, s), 1e-4 * maxAbs(s));
                }
                // The singular vector's sign is arbitrary: align it, then the whole post-processing must agree.
                const auto pre = slice(preRef, m);
                std::vector<float> got = r.rawPreRelu.data;
                std::vector<float> gotFinal = r.cam.data;
                double dot = 0;
                for (std::size_t i = 0; i < got.size() && i < pre.size(); ++i)
                    dot += double(got[i]) * pre[i];
                if (k.eigen && dot < 0) {
                    ml::FloatArray flipped = r.rawPreRelu;
                    for (auto& v : flipped.data)
                        v = -v;
                    got = flipped.data;
                    gotFinal = ml::finalizeCam(flipped, {128, 128}).data;
                } else {
                    EXPECT_EQ(ml::finalizeCam(r.rawPreRelu, {128, 128}).data, r.cam.data);
                }
                const double tolLow = (k.eigen ? 1e-3 : 1e-4) * maxAbs(pre);
                EXPECT_LE(maxDiff(got, pre), tolLow);
                std::vector<float> gotRelu = got;
                for (auto& v : gotRelu)
                    v = std::max(v, 0.0f);
                EXPECT_LE(maxDiff(gotRelu, slice(lowRef, m)), tolLow);
                ASSERT_EQ(r.cam.shape, (std::vector<std::int64_t>{128, 128}));
                const double dFinal = maxDiff(gotFinal, slice(finalRef, m));
                EXPECT_LE(dFinal, k.eigen ? 1e-3 : 1e-4);
                worst[m] = std::max(worst[m], dFinal);
            }
            ++cases;
        }
    }
    EXPECT_EQ(cases, 4);
    for (int m = 0; m < 10; ++m)
        std::printf("  %-22s worst final-map difference %.2e\n", kMethods[m].goldenName, worst[m]);
}

INSTANTIATE_TEST_SUITE_P(Models, CamGolden,
                         ::testing::Values(ModelCase{"cnn_scripted.pt", "cnn", "layer4"},
                                           ModelCase{"cnn_traced.pt", "cnn", "layer4"},
                                           ModelCase{"densenet_tiny_scripted.pt", "densenet_tiny", "features.block4"}),
                         [](const auto& info) {
                             std::string n = info.param.file;
                             return n.substr(0, n.find('.'));
                         });

}  // namespace
