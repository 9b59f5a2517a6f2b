#include "core/ml/Sam.h"

// Local
#include "core/image/PillowResize.h"
#include "core/image/SplineResize.h"
#include "core/ml/Runtime.h"
#include "core/ml/internal/BlasThreads.hpp"
#include "core/ml/internal/MaskResample.hpp"
#include "core/ml/internal/SamNet.hpp"
#include "core/ml/internal/Tensors.hpp"

// LibTorch
#include <ATen/record_function.h>

// Std
#include <algorithm>
#include <cmath>
#include <fstream>

namespace camsight::ml {
namespace {

const float kPixelMean[3] = {123.675f, 116.28f, 103.53f};
const float kPixelStd[3] = {58.395f, 57.12f, 57.375f};

// ResizeLongestSide.get_preprocess_shape: the longest side becomes 1024, the other int(s * scale + 0.5).
std::pair<int, int> preprocessShape(int h, int w, int target)
{
    const double scale = double(target) / std::max(h, w);
    return {static_cast<int>(h * scale + 0.5), static_cast<int>(w * scale + 0.5)};
}

void requireRgb(const SamImage& image, const char* model)
{
    if (image.width <= 0 || image.height <= 0 || image.rgb.size() != std::size_t(image.width) * image.height * 3)
        throw std::invalid_argument(std::string(model) + " takes an RGB image of width x height x 3 bytes");
}

}  // namespace

struct SamModel::Impl {
    sam::Weights weights;
    sam::Config config;
    sam::DecoderWeights decoder;
    Impl(sam::Weights w, sam::Config c)
        : weights(std::move(w)),
          config(std::move(c)),
          decoder(weights, config)
    {
    }

    /// Runs the encoder on a prepared [1, 3, 1024, 1024] input.
    SamEmbedding embed(const FloatArray& input, const SamImage& image, int inputWidth, int inputHeight, bool medsam) const
    {
        c10::InferenceMode inference;
        SamEmbedding e;
        e.features = toArray(sam::encodeImage(weights, config, toTensor(input)));
        releaseMemory();  // the encoder's working tensors (hundreds of MB) go back to the system
        e.originalWidth = image.width;
        e.originalHeight = image.height;
        e.inputWidth = inputWidth;
        e.inputHeight = inputHeight;
        e.variant = config.variant;
        e.medsam = medsam;
        return e;
    }
};

SamModel::SamModel(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
SamModel::SamModel(SamModel&&) noexcept = default;
SamModel& SamModel::operator=(SamModel&&) noexcept = default;
SamModel::~SamModel() = default;

SamModel SamModel::load(const std::string& checkpoint)
{
    StateDict sd = loadCheckpoint(checkpoint);
    for (auto& [k, t] : sd)
        if (t.is_floating_point())
            t = t.to(torch::kFloat32).contiguous();
    sam::Weights w(std::move(sd), checkpoint);
    sam::Config c = sam::inferConfig(w);
    sam::checkKeys(w, c);
    return SamModel(std::make_unique<Impl>(std::move(w), std::move(c)));
}

std::string SamModel::variant() const { return m_impl->config.variant; }

FloatArray SamModel::preprocess(const SamImage& image) const
{
    requireRgb(image, "SAM");
    const int side = m_impl->config.imageSize;
    const auto [nh, nw] = preprocessShape(image.height, image.width, side);
    const std::vector<std::uint8_t> resized =
        image::resizeBilinearPillow(image.rgb.data(), image.width, image.height, 3, nw, nh);
    FloatArray input({1, 3, side, side});  // zero padding after normalisation
    for (int c = 0; c < 3; ++c)
        for (int y = 0; y < nh; ++y)
            for (int x = 0; x < nw; ++x)
                input.data[(std::size_t(c) * side + y) * side + x] =
                    (float(resized[(std::size_t(y) * nw + x) * 3 + c]) - kPixelMean[c]) / kPixelStd[c];
    return input;
}

SamEmbedding SamModel::encode(const SamImage& image) const
{
    const FloatArray input = preprocess(image);
    const auto [nh, nw] = preprocessShape(image.height, image.width, m_impl->config.imageSize);
    return m_impl->embed(input, image, nw, nh, false);
}

std::vector<std::uint8_t> SamModel::medsamResize(const SamImage& image)
{
    requireRgb(image, "MedSAM");
    constexpr std::size_t side = 1024;
    std::vector<std::uint8_t> out(side * side * 3);
    std::vector<double> plane(std::size_t(image.width) * image.height);
    for (int c = 0; c < 3; ++c) {
        for (std::size_t i = 0; i < plane.size(); ++i)
            plane[i] = image.rgb[i * 3 + std::size_t(c)];
        const std::vector<double> r = image::resizeCubicSpline(plane, std::size_t(image.width), std::size_t(image.height), side, side);
        for (std::size_t i = 0; i < r.size(); ++i)
            out[i * 3 + std::size_t(c)] = static_cast<std::uint8_t>(r[i]);  // astype(np.uint8): truncation
    }
    return out;
}

SamEmbedding SamModel::encodeMedSam(const SamImage& image) const
{
    const std::vector<std::uint8_t> img = medsamResize(image);
    const auto [mn, mx] = std::minmax_element(img.begin(), img.end());
    const double lo = *mn, range = std::max(double(*mx) - lo, 1e-8);
    constexpr int side = 1024;
    FloatArray input({1, 3, side, side});
    for (int c = 0; c < 3; ++c)
        for (std::size_t i = 0; i < std::size_t(side) * side; ++i)
            input.data[std::size_t(c) * side * side + i] = static_cast<float>((double(img[i * 3 + std::size_t(c)]) - lo) / range);
    return m_impl->embed(input, image, side, side, true);
}

namespace {

// Sam.postprocess_masks (to the model's square input, crop the resized image, back to the original size) for an
// embedding, as one separable operator; the low-resolution masks are 4x the embedding grid.
MaskResampler postprocessor(const SamEmbedding& e, int imageSize)
{
    return MaskResampler(int(4 * e.features.shape[2]), int(4 * e.features.shape[3]), imageSize, imageSize, e.inputHeight,
                         e.inputWidth, e.originalHeight, e.originalWidth);
}

void requireOwnEmbedding(const SamEmbedding& e, const sam::Config& c)
{
    if (e.variant != c.variant || e.features.shape.size() != 4 || e.features.shape[1] != c.outChans)
        throw std::invalid_argument("the embedding was made by another model (" + e.variant + ", " +
                                    e.features.shapeString() + ")");
}

}  // namespace

SamResult SamModel::decode(const SamEmbedding& e, const SamPrompts& prompts) const
{
    SamResult r;
    decode(e, prompts, r);
    return r;
}

void SamModel::decode(const SamEmbedding& e, const SamPrompts& prompts, SamResult& r) const
{
    const sam::Config& c = m_impl->config;
    requireOwnEmbedding(e, c);
    if (prompts.points.empty() && !prompts.box)
        throw std::invalid_argument("a SAM prompt needs at least one point or a box");
    c10::InferenceMode inference;
    // The decoder's products are small: OpenBLAS's own threads would only contend with the intra-op threads.
    SingleThreadedBlas smallWork;
    FlushDenormals flush;
    // Coordinates into the resized frame: x by neww / W, y by newh / H (float64, then float32), as apply_coords;
    // MedSAM: box / [W, H, W, H] * 1024, the same arithmetic with neww = newh = 1024.
    const double sx = double(e.inputWidth) / e.originalWidth, sy = double(e.inputHeight) / e.originalHeight;
    sam::Prompt p;
    if (!prompts.points.empty()) {
        std::vector<float> xy, labels;
        for (const auto& pt : prompts.points) {
            if (pt.label != 0 && pt.label != 1)
                throw std::invalid_argument("a point label is 1 (foreground) or 0 (background)");
            xy.push_back(static_cast<float>(pt.x * sx));
            xy.push_back(static_cast<float>(pt.y * sy));
            labels.push_back(float(pt.label));
        }
        const std::int64_t n = std::int64_t(prompts.points.size());
        p.points = torch::from_blob(xy.data(), {1, n, 2}, torch::kFloat32).clone();
        p.labels = torch::from_blob(labels.data(), {1, n}, torch::kFloat32).clone();
    }
    if (prompts.box) {
        const auto& b = *prompts.box;
        p.box = torch::tensor({float(b[0] * sx), float(b[1] * sy), float(b[2] * sx), float(b[3] * sy)}).reshape({1, 4});
    }
    if (!prompts.maskInput.empty()) {
        if (prompts.maskInput.count() != 256 * 256)
            throw std::invalid_argument("mask input must be 1 x 256 x 256 low-resolution logits, got " +
                                        prompts.maskInput.shapeString());
        p.maskInput = toTensor(prompts.maskInput).reshape({1, 1, 256, 256});
    }
    const auto [low, iou] = sam::decode(m_impl->weights, m_impl->decoder, c, viewTensor(e.features), p, prompts.multimask);
    RECORD_FUNCTION("camsight::postprocess_masks", std::vector<c10::IValue>());  // a named scope in profiles
    const std::int64_t k = low.size(1), plane = std::int64_t(e.originalHeight) * e.originalWidth;
    // Into r's own buffers: resize() keeps them when the sizes repeat (click after click on one image), so nothing is
    // allocated or zero-filled again (three 1024 x 768 masks are 12 MB); every element is written below. Nothing
    // above touched r, so a decode that throws leaves the previous result as it was.
    const auto reshape = [](FloatArray& a, std::vector<std::int64_t> shape) {
        a.shape = std::move(shape);
        a.data.resize(a.count());
    };
    const auto empty = [](FloatArray& a) {
        a.shape.clear();
        a.data.clear();
    };
    const torch::Tensor lowC = low[0].contiguous(), iouC = iou[0].to(torch::kFloat32).contiguous();
    reshape(r.lowResLogits, {k, low.size(2), low.size(3)});
    std::copy(lowC.data_ptr<float>(), lowC.data_ptr<float>() + lowC.numel(), r.lowResLogits.data.begin());
    reshape(r.iou, {k});
    std::copy(iouC.data_ptr<float>(), iouC.data_ptr<float>() + iouC.numel(), r.iou.data.begin());
    if (prompts.fullLogits)
        reshape(r.logits, {k, e.originalHeight, e.originalWidth});
    else
        empty(r.logits);
    float* const logits = prompts.fullLogits ? r.logits.data.data() : nullptr;
    r.masks.resize(std::size_t(k * plane));
    const std::int64_t lowPlane = low.size(2) * low.size(3);
    if (e.medsam) {
        // medsam_inference(): sigmoid, one resize from 256 straight to the original size, > 0.5.
        const MaskResampler resize(int(low.size(2)), int(low.size(3)), 0, 0, 0, 0, e.originalHeight, e.originalWidth);
        const torch::Tensor prob = torch::sigmoid(lowC).contiguous();
        reshape(r.probabilities, {k, e.originalHeight, e.originalWidth});
        for (std::int64_t i = 0; i < k; ++i)
            resize.apply(prob.data_ptr<float>() + i * lowPlane, r.probabilities.data.data() + i * plane,
                         r.masks.data() + i * plane, 0.5f);
        for (std::size_t i = 0; i < r.logits.data.size(); ++i) {  // none without fullLogits
            const double q = r.probabilities.data[i];
            r.logits.data[i] = static_cast<float>(std::log(q / (1.0 - q)));
        }
        return;
    }
    empty(r.probabilities);
    const MaskResampler resample = postprocessor(e, c.imageSize);
    const float* lowData = r.lowResLogits.data.data();
    for (std::int64_t i = 0; i < k; ++i)
        resample.apply(lowData + i * lowPlane, logits ? logits + i * plane : nullptr, r.masks.data() + i * plane);
}

void SamModel::decodePointBatch(const SamEmbedding& e, const std::vector<SamPoint>& points,
                                const std::function<void(std::size_t, int, float, const float*)>& sink,
                                float iouAbove) const
{
    const sam::Config& c = m_impl->config;
    requireOwnEmbedding(e, c);
    if (e.medsam)
        throw std::invalid_argument("automatic mask generation takes a SAM embedding, not a MedSAM one");
    if (points.empty())
        return;
    c10::InferenceMode inference;
    SingleThreadedBlas smallWork;  // the decoder splits its products across the intra-op threads itself
    FlushDenormals flush;
    const double sx = double(e.inputWidth) / e.originalWidth, sy = double(e.inputHeight) / e.originalHeight;
    const torch::Tensor features = viewTensor(e.features);
    const MaskResampler resample = postprocessor(e, c.imageSize);
    std::vector<float> plane(std::size_t(e.originalWidth) * std::size_t(e.originalHeight));
    // One prompt at a time: the single-prompt decoder keeps its image-side tensors (4 MB) in cache and splits its
    // products across the threads; as one batch of 64, every image-side pass went over 256 MB (62 ms per prompt
    // against 25 here). Only the masks that pass the IoU filter are upsampled, each on its own as the reference does.
    for (std::size_t i = 0; i < points.size(); ++i) {
        sam::Prompt p;
        p.points = torch::tensor({static_cast<float>(points[i].x * sx), static_cast<float>(points[i].y * sy)}).reshape({1, 1, 2});
        p.labels = torch::ones({1, 1});
        const auto [low, iou] = sam::decode(m_impl->weights, m_impl->decoder, c, features, p, true);
        const torch::Tensor lowC = low.contiguous(), ious = iou.to(torch::kFloat32).contiguous();
        const std::int64_t lowPlane = low.size(2) * low.size(3);
        for (std::int64_t k = 0; k < low.size(1); ++k) {
            const float predicted = ious.data_ptr<float>()[k];
            if (!(predicted > iouAbove))
                continue;
            resample.apply(lowC.data_ptr<float>() + k * lowPlane, plane.data());
            sink(i, int(k), predicted, plane.data());
        }
    }
}

void SamEmbedding::save(const std::string& path) const
{
    std::ofstream f(path, std::ios::binary);
    if (!f)
        throw std::runtime_error(path + ": cannot write the embedding");
    const char magic[8] = {'C', 'S', 'E', 'M', 'B', '1', '6', '\n'};
    f.write(magic, 8);
    const std::int32_t header[5] = {originalWidth, originalHeight, inputWidth, inputHeight, medsam ? 1 : 0};
    f.write(reinterpret_cast<const char*>(header), sizeof header);
    const std::uint32_t nameLen = static_cast<std::uint32_t>(variant.size());
    f.write(reinterpret_cast<const char*>(&nameLen), 4);
    f.write(variant.data(), nameLen);
    const std::uint32_t rank = static_cast<std::uint32_t>(features.shape.size());
    f.write(reinterpret_cast<const char*>(&rank), 4);
    for (auto d : features.shape)
        f.write(reinterpret_cast<const char*>(&d), 8);
    const torch::Tensor half = toTensor(features).to(torch::kHalf).contiguous();
    f.write(static_cast<const char*>(half.data_ptr()), std::streamsize(half.numel() * 2));
    if (!f)
        throw std::runtime_error(path + ": cannot write the embedding");
}

SamEmbedding SamEmbedding::load(const std::string& path)
{
    std::ifstream f(path, std::ios::binary);
    if (!f)
        throw std::runtime_error(path + ": cannot open the embedding");
    char magic[8] = {};
    f.read(magic, 8);
    if (std::string(magic, 8) != std::string("CSEMB16\n", 8))
        throw std::runtime_error(path + ": not a CamSight SAM embedding");
    SamEmbedding e;
    std::int32_t header[5] = {};
    f.read(reinterpret_cast<char*>(header), sizeof header);
    e.originalWidth = header[0];
    e.originalHeight = header[1];
    e.inputWidth = header[2];
    e.inputHeight = header[3];
    e.medsam = header[4] == 1;
    if (!f || e.originalWidth <= 0 || e.originalHeight <= 0 || e.inputWidth <= 0 || e.inputHeight <= 0 ||
        e.inputWidth > 4096 || e.inputHeight > 4096)
        throw std::runtime_error(path + ": corrupt embedding header");
    std::uint32_t nameLen = 0;
    f.read(reinterpret_cast<char*>(&nameLen), 4);
    if (!f || nameLen > 64)
        throw std::runtime_error(path + ": corrupt embedding header");
    e.variant.resize(nameLen);
    f.read(e.variant.data(), nameLen);
    std::uint32_t rank = 0;
    f.read(reinterpret_cast<char*>(&rank), 4);
    if (!f || rank != 4)
        throw std::runtime_error(path + ": corrupt embedding header");
    e.features.shape.resize(rank);
    std::int64_t count = 1;
    for (auto& d : e.features.shape) {
        f.read(reinterpret_cast<char*>(&d), 8);
        if (!f || d <= 0 || d > 4096)
            throw std::runtime_error(path + ": corrupt embedding shape");
        count *= d;
    }
    std::vector<at::Half> half(static_cast<std::size_t>(count));
    f.read(reinterpret_cast<char*>(half.data()), std::streamsize(count * 2));
    if (!f)
        throw std::runtime_error(path + ": truncated embedding");
    e.features.data.resize(half.size());
    for (std::size_t i = 0; i < half.size(); ++i)
        e.features.data[i] = static_cast<float>(half[i]);
    return e;
}

}  // namespace camsight::ml
