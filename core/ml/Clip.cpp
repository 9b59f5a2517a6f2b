#include "core/ml/Clip.h"

// Local
#include "core/image/PillowResize.h"
#include "core/ml/internal/Checkpoint.hpp"
#include "core/ml/internal/SamLayers.hpp"
#include "core/ml/internal/Tensors.hpp"

// LibTorch
#include <caffe2/serialize/inline_container.h>
#include <torch/script.h>

// Std
#include <cmath>
#include <optional>
#include <set>

namespace camsight::ml {
namespace {

using sam::Weights;

const float kMean[3] = {0.48145466f, 0.4578275f, 0.40821073f};
const float kStd[3] = {0.26862954f, 0.26130258f, 0.27577711f};

bool isTorchScript(const std::string& path)
{
    try {
        caffe2::serialize::PyTorchStreamReader reader(path);
        return reader.hasRecord("constants.pkl");
    } catch (const c10::Error&) {
        return false;  // not a zip archive: the checkpoint reader gives the error
    }
}

int countBlocks(const Weights& w, const std::string& prefix)
{
    std::set<std::string> blocks;
    for (const auto& [key, t] : w.all())
        if (key.rfind(prefix, 0) == 0 && key.find(".attn.in_proj_weight") != std::string::npos)
            blocks.insert(key.substr(0, key.find('.', prefix.size())));
    return int(blocks.size());
}

ClipConfig inferClipConfig(const Weights& w)
{
    const std::string& f = w.file();
    if (!w.has("visual.conv1.weight")) {
        if (w.has("visual.layer1.0.conv1.weight"))
            throw CheckpointError(f + ": a CLIP with a ResNet image encoder (RN50 and relatives); only the ViT CLIP "
                                      "models are supported as a state_dict (their TorchScript archives are not either)");
        throw CheckpointError(f + ": not a CLIP checkpoint (no 'visual.conv1.weight')");
    }
    ClipConfig c;
    const auto& conv = w.at("visual.conv1.weight");
    c.visionWidth = int(conv.size(0));
    c.visionPatch = int(conv.size(-1));
    c.visionLayers = countBlocks(w, "visual.transformer.resblocks.");
    const auto tokens = w.at("visual.positional_embedding").size(0);
    const int grid = int(std::lround(std::sqrt(double(tokens - 1))));
    if (grid * grid + 1 != tokens)
        throw CheckpointError(f + ": visual.positional_embedding has " + std::to_string(tokens) +
                              " rows, not 1 + a square number of patches");
    c.imageResolution = c.visionPatch * grid;
    c.visionHeads = std::max(1, c.visionWidth / 64);
    c.embedDim = int(w.at("text_projection").size(1));
    c.contextLength = int(w.at("positional_embedding").size(0));
    c.vocabSize = int(w.at("token_embedding.weight").size(0));
    c.textWidth = int(w.at("ln_final.weight").size(0));
    c.textHeads = std::max(1, c.textWidth / 64);
    c.textLayers = countBlocks(w, "transformer.resblocks.");
    if (c.visionLayers == 0 || c.textLayers == 0)
        throw CheckpointError(f + ": no transformer blocks found in a CLIP checkpoint");
    if (w.at("visual.proj").size(1) != c.embedDim)
        throw CheckpointError(f + ": visual.proj and text_projection disagree on the embedding size");
    return c;
}

// nn.MultiheadAttention (packed in-projection), batch-first [N, L, W]; `mask` added to the scores.
torch::Tensor attention(const Weights& w, const std::string& p, const torch::Tensor& x, int heads,
                        const torch::Tensor& mask)
{
    const auto n = x.size(0), l = x.size(1), width = x.size(2), d = width / heads;
    const auto qkv = torch::linear(x, w.at(p + ".in_proj_weight"), w.at(p + ".in_proj_bias"))
                         .view({n, l, 3, heads, d})
                         .permute({2, 0, 3, 1, 4});
    const auto q = qkv[0] / std::sqrt(double(d));
    auto scores = torch::matmul(q, qkv[1].transpose(-2, -1));
    if (mask.defined())
        scores = scores + mask;
    const auto out = torch::matmul(scores.softmax(-1), qkv[2]).permute({0, 2, 1, 3}).reshape({n, l, width});
    return torch::linear(out, w.at(p + ".out_proj.weight"), w.at(p + ".out_proj.bias"));
}

torch::Tensor quickGelu(const torch::Tensor& x) { return x * torch::sigmoid(1.702 * x); }

torch::Tensor mlp(const Weights& w, const std::string& p, const torch::Tensor& x)
{
    return sam::linear(w, p + ".c_proj", quickGelu(sam::linear(w, p + ".c_fc", x)));
}

torch::Tensor transformer(const Weights& w, const std::string& prefix, torch::Tensor x, int layers, int heads,
                          const torch::Tensor& mask)
{
    for (int i = 0; i < layers; ++i) {
        const std::string p = prefix + std::to_string(i);
        x = x + attention(w, p + ".attn", sam::layerNorm(w, p + ".ln_1", x, 1e-5), heads, mask);
        x = x + mlp(w, p + ".mlp", sam::layerNorm(w, p + ".ln_2", x, 1e-5));
    }
    return x;
}

// Patch embedding, class token, positions, ln_pre: [N, 1 + g*g, W].
torch::Tensor visionTokens(const Weights& w, const ClipConfig& c, const torch::Tensor& image)
{
    if (image.dim() != 4 || image.size(1) != 3 || image.size(2) != c.imageResolution || image.size(3) != c.imageResolution)
        throw std::invalid_argument("CLIP takes images of [N, 3, " + std::to_string(c.imageResolution) + ", " +
                                    std::to_string(c.imageResolution) + "]");
    auto x = torch::conv2d(image, w.at("visual.conv1.weight"), {}, c.visionPatch);
    x = x.flatten(2).transpose(1, 2);
    const auto cls = w.at("visual.class_embedding").view({1, 1, -1}).expand({x.size(0), 1, x.size(2)});
    x = torch::cat({cls, x}, 1) + w.at("visual.positional_embedding");
    return sam::layerNorm(w, "visual.ln_pre", x, 1e-5);
}

torch::Tensor encodeImageNet(const Weights& w, const ClipConfig& c, const torch::Tensor& image)
{
    auto x = transformer(w, "visual.transformer.resblocks.", visionTokens(w, c, image), c.visionLayers, c.visionHeads, {});
    return torch::matmul(sam::layerNorm(w, "visual.ln_post", x.select(1, 0), 1e-5), w.at("visual.proj"));
}

torch::Tensor encodeTextNet(const Weights& w, const ClipConfig& c, const torch::Tensor& tokens)
{
    auto x = torch::embedding(w.at("token_embedding.weight"), tokens) + w.at("positional_embedding");
    const auto mask = torch::full({c.contextLength, c.contextLength}, -std::numeric_limits<float>::infinity()).triu(1);
    x = transformer(w, "transformer.resblocks.", x, c.textLayers, c.textHeads, mask);
    x = sam::layerNorm(w, "ln_final", x, 1e-5);
    const auto eot = tokens.argmax(-1);
    return torch::matmul(x.index({torch::arange(x.size(0)), eot}), w.at("text_projection"));
}

torch::Tensor patchFeaturesNet(const Weights& w, const ClipConfig& c, const torch::Tensor& image)
{
    auto x = transformer(w, "visual.transformer.resblocks.", visionTokens(w, c, image), c.visionLayers - 1,
                         c.visionHeads, {});
    const std::string last = "visual.transformer.resblocks." + std::to_string(c.visionLayers - 1);
    // Value path of the last block only: v = W_v ln_1(x) + b_v, then the output projection.
    const auto h = sam::layerNorm(w, last + ".ln_1", x, 1e-5);
    const auto width = x.size(2);
    const auto vW = w.at(last + ".attn.in_proj_weight").narrow(0, 2 * width, width);
    const auto vB = w.at(last + ".attn.in_proj_bias").narrow(0, 2 * width, width);
    auto v = torch::linear(torch::linear(h, vW, vB), w.at(last + ".attn.out_proj.weight"), w.at(last + ".attn.out_proj.bias"));
    v = torch::matmul(sam::layerNorm(w, "visual.ln_post", v, 1e-5), w.at("visual.proj"));
    const auto g = c.grid();
    return v.narrow(1, 1, g * g).reshape({v.size(0), g, g, v.size(2)});
}

torch::Tensor tokensTensor(const std::vector<std::int64_t>& tokens, int contextLength)
{
    if (tokens.empty() || tokens.size() % std::size_t(contextLength) != 0)
        throw std::invalid_argument("CLIP text input must be rows of " + std::to_string(contextLength) + " tokens, got " +
                                    std::to_string(tokens.size()) + " ids");
    return torch::tensor(tokens, torch::kLong).view({-1, contextLength});
}

}  // namespace

struct ClipModel::Impl {
    std::string form;
    std::optional<torch::jit::Module> jit;  ///< set when the archive's own methods run on the CPU in float32
    Weights weights;
    ClipConfig config;
    float logitScale = 1;
    Impl(std::string f, Weights w) : form(std::move(f)), weights(std::move(w)), config(inferClipConfig(weights)) {}
};

ClipModel::ClipModel(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
ClipModel::ClipModel(ClipModel&&) noexcept = default;
ClipModel& ClipModel::operator=(ClipModel&&) noexcept = default;
ClipModel::~ClipModel() = default;

ClipModel ClipModel::load(const std::string& path)
{
    StateDict sd;
    std::optional<torch::jit::Module> jit;
    std::string form = "state_dict";
    if (isTorchScript(path)) {
        form = "torchscript";
        try {
            jit = torch::jit::load(path, torch::kCPU);
        } catch (const c10::Error& e) {
            const std::string m = e.what_without_backtrace();
            throw CheckpointError(path + ": cannot load the TorchScript archive (" + m.substr(0, m.find('\n')) + ")");
        }
        if (!jit->find_method("encode_image") || !jit->find_method("encode_text"))
            throw CheckpointError(path + ": a TorchScript archive without encode_image and encode_text: not a CLIP model");
        for (const auto& p : jit->named_parameters(true))
            sd.emplace_back(p.name, p.value);
        for (const auto& b : jit->named_buffers(true))
            sd.emplace_back(b.name, b.value);
    } else {
        sd = loadCheckpoint(path);
    }
    bool allFloat32 = true;
    for (auto& [key, t] : sd) {
        if (t.is_floating_point()) {
            allFloat32 = allFloat32 && t.scalar_type() == torch::kFloat;
            t = t.to(torch::kFloat).contiguous();
        }
    }
    auto impl = std::make_unique<Impl>(form, Weights(std::move(sd), path));
    if (jit && allFloat32)
        impl->jit = std::move(jit);  // else: the official float16 archives, traced on CUDA, run natively
    impl->logitScale = float(std::exp(impl->weights.at("logit_scale").item<double>()));
    return ClipModel(std::move(impl));
}

const ClipConfig& ClipModel::config() const { return m_impl->config; }
std::string ClipModel::form() const { return m_impl->form; }
float ClipModel::logitScale() const { return m_impl->logitScale; }

FloatArray ClipModel::preprocess(const RgbImage& image) const
{
    if (image.width <= 0 || image.height <= 0 || image.rgb.size() != std::size_t(image.width) * image.height * 3)
        throw std::invalid_argument("CLIP takes an RGB image of width x height x 3 bytes");
    const int r = m_impl->config.imageResolution;
    const bool wide = image.width > image.height;
    const int shortSide = wide ? image.height : image.width, longSide = wide ? image.width : image.height;
    const int newLong = int(std::int64_t(r) * longSide / shortSide);  // int(r * long / short): truncation
    const int nw = wide ? newLong : r, nh = wide ? r : newLong;
    const auto resized = image::resizePillow(image.rgb.data(), std::size_t(image.width), std::size_t(image.height), 3,
                                             std::size_t(nw), std::size_t(nh), image::PillowFilter::Bicubic);
    const int top = int(std::nearbyint((nh - r) / 2.0)), left = int(std::nearbyint((nw - r) / 2.0));
    FloatArray out({1, 3, r, r});
    for (int c = 0; c < 3; ++c)
        for (int y = 0; y < r; ++y)
            for (int x = 0; x < r; ++x) {
                const float v = float(resized[(std::size_t(y + top) * std::size_t(nw) + std::size_t(x + left)) * 3 +
                                              std::size_t(c)]) / 255.0f;
                out.data[(std::size_t(c) * std::size_t(r) + std::size_t(y)) * std::size_t(r) + std::size_t(x)] =
                    (v - kMean[c]) / kStd[c];
            }
    return out;
}

FloatArray ClipModel::encodeImage(const FloatArray& input) const
{
    if (!m_impl->jit)
        return encodeImageNative(input);
    c10::InferenceMode guard;
    return toArray(m_impl->jit->get_method("encode_image")({toTensor(input)}).toTensor());
}

FloatArray ClipModel::encodeText(const std::vector<std::int64_t>& tokens) const
{
    if (!m_impl->jit)
        return encodeTextNative(tokens);
    c10::InferenceMode guard;
    const auto t = tokensTensor(tokens, m_impl->config.contextLength);
    return toArray(m_impl->jit->get_method("encode_text")({t}).toTensor());
}

FloatArray ClipModel::encodeImageNative(const FloatArray& input) const
{
    c10::InferenceMode guard;
    return toArray(encodeImageNet(m_impl->weights, m_impl->config, toTensor(input)));
}

FloatArray ClipModel::encodeTextNative(const std::vector<std::int64_t>& tokens) const
{
    c10::InferenceMode guard;
    const auto t = tokensTensor(tokens, m_impl->config.contextLength);
    if (t.max().item<std::int64_t>() >= m_impl->config.vocabSize || t.min().item<std::int64_t>() < 0)
        throw std::invalid_argument("CLIP token ids must lie in [0, " + std::to_string(m_impl->config.vocabSize) + ")");
    return toArray(encodeTextNet(m_impl->weights, m_impl->config, t));
}

FloatArray ClipModel::patchFeatures(const FloatArray& input) const
{
    c10::InferenceMode guard;
    return toArray(patchFeaturesNet(m_impl->weights, m_impl->config, toTensor(input)));
}

FloatArray l2Normalize(const FloatArray& features)
{
    c10::InferenceMode guard;
    const auto t = toTensor(features);
    return toArray(t / t.norm(2, -1, true));
}

FloatArray clipLogits(const FloatArray& imageFeatures, const FloatArray& textFeatures, float logitScale)
{
    c10::InferenceMode guard;
    const auto i = toTensor(l2Normalize(imageFeatures)), t = toTensor(l2Normalize(textFeatures));
    return toArray(logitScale * torch::matmul(i, t.t()));
}

}  // namespace camsight::ml
