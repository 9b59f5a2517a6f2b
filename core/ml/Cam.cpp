#include "core/ml/Cam.h"

// Local
#include "core/ml/internal/BlasThreads.hpp"
#include "core/ml/internal/TorchClassifier.hpp"

// LibTorch
#include <torch/torch.h>

// Std
#include <algorithm>

namespace camsight::ml {
namespace {

namespace F = torch::nn::functional;

struct MethodName {
    CamMethod method;
    const char* name;
};
constexpr MethodName kMethods[] = {
    {CamMethod::GradCam, "gradcam"},           {CamMethod::HiResCam, "hirescam"},
    {CamMethod::GradCamPlusPlus, "gradcam++"}, {CamMethod::XGradCam, "xgradcam"},
    {CamMethod::LayerCam, "layercam"},         {CamMethod::EigenCam, "eigencam"},
    {CamMethod::EigenGradCam, "eigengradcam"}, {CamMethod::ScoreCam, "scorecam"},
    {CamMethod::GradCamElementWise, "gradcamelementwise"},
};

std::vector<std::int64_t> spatialDims(const torch::Tensor& t)
{
    std::vector<std::int64_t> d;
    for (std::int64_t i = 2; i < t.dim(); ++i)
        d.push_back(i);
    return d;
}

// One row of class scores per batch item.
torch::Tensor scoresPerItem(const torch::Tensor& out) { return out.reshape({out.size(0), -1}); }

// pytorch-grad-cam's get_2d_projection for one item: centre the positions x channels matrix X per channel and project
// it on its first right singular vector v1. X v1 = s1 u1, so the projection comes from the top eigenpair of the
// smaller Gram matrix (X X^T or X^T X), in double, on one BLAS thread (see SingleThreadedBlas): a fraction of a
// millisecond where numpy's full SVD takes ~12 ms. The singular vector's sign is arbitrary (LAPACK's choice in the reference);
// here it is oriented so that the map correlates positively with the channel sum of T, where the activity is.
// T: [1, C, spatial...] -> [spatial...].
torch::Tensor firstComponentProjection(const torch::Tensor& t)
{
    SingleThreadedBlas smallWork;
    const std::int64_t c = t.size(1);
    torch::Tensor x = t[0].reshape({c, -1}).t().to(torch::kFloat64);  // [positions, channels]
    x = torch::nan_to_num(x, 0.0, 0.0, 0.0);
    x = x - x.mean(0, true);
    torch::Tensor proj;
    if (x.size(0) <= x.size(1)) {
        const auto eig = torch::linalg_eigh(x.matmul(x.t()));  // ascending eigenvalues
        const torch::Tensor lambda = std::get<0>(eig), u = std::get<1>(eig);
        const std::int64_t last = lambda.size(0) - 1;
        proj = u.select(1, last) * lambda[last].clamp_min(0).sqrt();
    } else {
        const auto eig = torch::linalg_eigh(x.t().matmul(x));
        proj = x.matmul(std::get<1>(eig).select(1, x.size(1) - 1));
    }
    const torch::Tensor channelSum = torch::nan_to_num(t[0].reshape({c, -1}).to(torch::kFloat64), 0.0, 0.0, 0.0).sum(0);
    if ((proj * channelSum).sum().item<double>() < 0)
        proj = -proj;
    return proj.to(torch::kFloat32).reshape(t.sizes().slice(2));
}

F::InterpolateFuncOptions linearTo(const std::vector<std::int64_t>& size, bool alignCorners)
{
    F::InterpolateFuncOptions o;
    o.size(size).align_corners(alignCorners);
    if (size.size() == 3)
        o.mode(torch::kTrilinear);
    else
        o.mode(torch::kBilinear);
    return o;
}

// scale_cam_image: shift to 0, divide by (1e-7 + max); optionally resized (bilinear, half-pixel centres).
torch::Tensor scaleCam(torch::Tensor c, const std::vector<std::int64_t>& size)
{
    c = c - c.min();
    c = c / (1e-7 + c.max());
    if (size.empty())
        return c;
    torch::Tensor b = c.unsqueeze(0).unsqueeze(0);
    b = F::interpolate(b, linearTo(size, false));
    return b[0][0];
}

}  // namespace

std::optional<CamMethod> parseCamMethod(const std::string& name)
{
    for (const auto& m : kMethods)
        if (name == m.name)
            return m.method;
    return std::nullopt;
}

std::string camMethodName(CamMethod method)
{
    for (const auto& m : kMethods)
        if (m.method == method)
            return m.name;
    return "?";
}

std::vector<CamMethod> allCamMethods()
{
    std::vector<CamMethod> v;
    for (const auto& m : kMethods)
        v.push_back(m.method);
    return v;
}

CamResult computeCam(const Classifier& model, const FloatArray& inputArray, const CamOptions& opt)
{
    auto& impl = model.impl();
    const std::string& file = impl.path;
    if (inputArray.shape.size() != 4 && inputArray.shape.size() != 5)
        throw ModelError(file + ": the input must be [1, C, H, W] or [1, C, D, H, W], got " + inputArray.shapeString());
    if (inputArray.shape[0] != 1)
        throw ModelError(file + ": one input at a time (batch 1), got " + inputArray.shapeString());
    torch::Tensor x = toTensor(inputArray);
    std::vector<std::int64_t> inputSize(x.sizes().begin() + 2, x.sizes().end());

    CamResult r;
    r.layer = opt.layer.empty() ? model.defaultTargetLayer(inputArray) : opt.layer;
    const CamMethod method = opt.method;
    const bool usesGradients = method != CamMethod::EigenCam && method != CamMethod::ScoreCam;
    const auto captured = impl.capture({r.layer}, usesGradients);

    auto targetIndex = [&](const torch::Tensor& scores) {
        const std::int64_t k = scores.size(1);
        int index = opt.target.index;
        if (opt.target.kind == CamTarget::Kind::Binary) {
            if (k != 1)
                throw ModelError(file + ": a binary target needs a model with one output, this one has " +
                                 std::to_string(k));
            if (index < 0)
                index = scores[0][0].item<float>() > 0 ? 1 : 0;
            if (index != 0 && index != 1)
                throw ModelError(file + ": a binary target's class is 0 or 1, not " + std::to_string(index));
            return index;
        }
        if (index < 0)
            index = static_cast<int>(scores[0].argmax().item<std::int64_t>());
        if (index >= k)
            throw ModelError(file + ": class " + std::to_string(index) + " is out of range: the model has " +
                             std::to_string(k) + " outputs");
        return index;
    };
    // The target applied to rows of scores [B, K] -> [B].
    auto targetScore = [&](const torch::Tensor& scores, int index) {
        switch (opt.target.kind) {
        case CamTarget::Kind::Softmax:
            return torch::softmax(scores, -1).select(1, index);
        case CamTarget::Kind::Binary:
            return scores.select(1, 0) * (index == 1 ? 1.0 : -1.0);
        case CamTarget::Kind::Logit:
        default:
            return scores.select(1, index);
        }
    };

    torch::Tensor logits, a, g;
    if (usesGradients) {
        // The captured layer output is an autograd leaf (see capture): only the layers after it are recorded, and
        // parameters need no gradient.
        torch::AutoGradMode gradMode(true);
        auto outs = impl.run(*captured, x);
        logits = scoresPerItem(outs[0]);
        a = outs[1];
        r.targetIndex = targetIndex(logits);
        const torch::Tensor score = targetScore(logits, r.targetIndex).sum();
        try {
            g = torch::autograd::grad({score}, {a}, {}, false, false, false)[0];
        } catch (const c10::Error& e) {
            throw ModelError(file + ": cannot take the gradient of the target at layer '" + r.layer +
                             "': " + e.what_without_backtrace());
        }
        a = a.detach();
    } else {
        torch::NoGradGuard noGrad;
        auto outs = impl.run(*captured, x);
        logits = scoresPerItem(outs[0]);
        a = outs[1];
        r.targetIndex = targetIndex(logits);
    }
    if (a.dim() < 4 || a.dim() != x.dim() || a.size(0) != 1)
        throw ModelError(file + ": layer '" + r.layer + "' outputs " + c10::str(a.sizes()) +
                         ", not a spatial map [1, C, h, w] (choose a convolutional layer)");

    torch::NoGradGuard noGrad;
    a = a.to(torch::kFloat32);
    if (g.defined())
        g = g.to(torch::kFloat32);
    const auto sdims = spatialDims(a);
    auto channelView = [&](const torch::Tensor& w) {
        std::vector<std::int64_t> shape{1, a.size(1)};
        shape.resize(a.dim(), 1);
        return w.reshape(shape);
    };
    torch::Tensor weights, l;
    auto weighted = [&]() {
        const torch::Tensor wa = channelView(weights) * a;
        return opt.eigenSmooth ? firstComponentProjection(wa) : wa.sum(1)[0];
    };
    auto elementwise = [&](const torch::Tensor& e) { return opt.eigenSmooth ? firstComponentProjection(e) : e.sum(1)[0]; };
    switch (method) {
    case CamMethod::GradCam:
        weights = g.mean(sdims);
        l = weighted();
        break;
    case CamMethod::GradCamPlusPlus: {
        const torch::Tensor g2 = g * g, g3 = g2 * g;
        const torch::Tensor sumA = a.sum(sdims, true);
        torch::Tensor aij = g2 / (2 * g2 + sumA * g3 + 1e-6);
        aij = torch::where(g != 0, aij, torch::zeros_like(aij));
        weights = (torch::relu(g) * aij).sum(sdims);
        l = weighted();
        break;
    }
    case CamMethod::XGradCam: {
        const torch::Tensor sumA = a.sum(sdims, true);
        weights = (g * a / (sumA + 1e-7)).sum(sdims);
        l = weighted();
        break;
    }
    case CamMethod::HiResCam:
        l = elementwise(g * a);
        break;
    case CamMethod::GradCamElementWise:
        l = elementwise(torch::relu(g * a));
        break;
    case CamMethod::LayerCam:
        l = elementwise(torch::relu(g) * a);
        break;
    case CamMethod::EigenCam:
        l = firstComponentProjection(a);
        break;
    case CamMethod::EigenGradCam:
        l = firstComponentProjection(g * a);
        break;
    case CamMethod::ScoreCam: {
        // Each channel, upsampled to the input (align_corners=True) and scaled to [0, 1], masks the input.
        torch::Tensor up = F::interpolate(a, linearTo(inputSize, true));
        const torch::Tensor flat = up.reshape({1, a.size(1), -1});
        const torch::Tensor maxs = channelView(std::get<0>(flat.max(-1))), mins = channelView(std::get<0>(flat.min(-1)));
        up = (up - mins) / (maxs - mins + 1e-8);
        const std::int64_t channels = a.size(1), batch = std::max(1, opt.scoreCamBatch);
        // A channel constant after upsampling (a dead ReLU channel, typically) masks the whole input to exactly 0:
        // all such channels share one score, computed once.
        const torch::Tensor constant = (std::get<0>(flat.max(-1)) == std::get<0>(flat.min(-1)))[0];
        std::vector<std::int64_t> live;
        bool anyConstant = false;
        for (std::int64_t k = 0; k < channels; ++k) {
            if (constant[k].item<bool>())
                anyConstant = true;
            else
                live.push_back(k);
        }
        auto scoreOf = [&](const torch::Tensor& inputs) {
            torch::Tensor out;
            try {
                c10::InferenceMode inference;
                out = impl.outputTensor(impl.inferenceModule().forward({inputs}));
            } catch (const c10::Error& e) {
                throw ModelError(file + ": forward() failed on a batch of " + std::to_string(inputs.size(0)) +
                                 " masked inputs: " + e.what_without_backtrace());
            }
            return targetScore(scoresPerItem(out), r.targetIndex);
        };
        torch::Tensor s = torch::empty({channels}, torch::kFloat32);
        if (anyConstant) {
            const torch::Tensor zeroScore = scoreOf(x * 0.0)[0];
            for (std::int64_t k = 0; k < channels; ++k)
                if (constant[k].item<bool>())
                    s[k] = zeroScore;
        }
        const torch::Tensor liveIndex = torch::tensor(live, torch::kInt64);
        for (std::size_t i = 0; i < live.size(); i += std::size_t(batch)) {
            const std::int64_t n = std::min<std::int64_t>(batch, std::int64_t(live.size() - i));
            const torch::Tensor idx = liveIndex.narrow(0, std::int64_t(i), n);
            const torch::Tensor masks = up[0].index_select(0, idx).unsqueeze(1);  // [n, 1, spatial...]
            s.index_put_({idx}, scoreOf(x * masks).to(torch::kFloat32));           // x * mask: [n, Cin, spatial...]
        }
        s = s.reshape({1, channels});
        r.scoreCamScores = toArray(s);
        weights = torch::softmax(s, -1);
        l = weighted();
        break;
    }
    }

    const torch::Tensor cam = torch::relu(l);
    r.logits = toArray(logits);
    r.rawPreRelu = toArray(l);
    r.raw = toArray(cam);
    r.activations = toArray(a);
    if (g.defined())
        r.gradients = toArray(g);
    if (weights.defined())
        r.weights = toArray(weights);
    r.cam = finalizeCam(r.rawPreRelu, inputSize);
    return r;
}

FloatArray finalizeCam(const FloatArray& lowResPreRelu, const std::vector<std::int64_t>& size)
{
    torch::NoGradGuard noGrad;
    if (lowResPreRelu.shape.size() != size.size() || (size.size() != 2 && size.size() != 3))
        throw std::invalid_argument("finalizeCam: a map of shape " + lowResPreRelu.shapeString() + " cannot be resized to " +
                                    FloatArray(size).shapeString());
    // BaseCAM: ReLU, scale and resize per layer, clip at 0, mean over the (single) layer, scale again.
    const torch::Tensor cam = torch::relu(toTensor(lowResPreRelu));
    const torch::Tensor perLayer = torch::relu(scaleCam(cam, size));
    return toArray(scaleCam(perLayer, {}));
}

}  // namespace camsight::ml
