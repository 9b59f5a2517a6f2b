#include "core/ml/TextSegment.h"

// Local
#include "core/image/PillowResize.h"
#include "core/text/ClipTokenizer.h"

// Std
#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <stdexcept>

namespace camsight::ml {
namespace {

const std::uint8_t kNeutral[3] = {123, 117, 104};  // CLIP's normalisation mean x 255: zero after preprocessing

// Softmax over [text, background] of CLIP's logits for each crop.
std::vector<float> textProbabilities(const ClipModel& clip, const FloatArray& textFeatures, const std::vector<RgbImage>& crops)
{
    std::vector<float> out;
    const std::size_t batch = 16;
    for (std::size_t s = 0; s < crops.size(); s += batch) {
        const std::size_t n = std::min(batch, crops.size() - s);
        const int r = clip.config().imageResolution;
        FloatArray input({std::int64_t(n), 3, r, r});
        const std::size_t one = std::size_t(3) * std::size_t(r) * std::size_t(r);
        for (std::size_t i = 0; i < n; ++i) {
            const FloatArray x = clip.preprocess(crops[s + i]);
            std::copy(x.data.begin(), x.data.end(), input.data.begin() + std::ptrdiff_t(i * one));
        }
        const FloatArray logits = clipLogits(clip.encodeImage(input), textFeatures, clip.logitScale());
        for (std::size_t i = 0; i < n; ++i) {
            const float a = logits.data[i * 2], b = logits.data[i * 2 + 1];
            out.push_back(1.0f / (1.0f + std::exp(b - a)));
        }
    }
    return out;
}

FloatArray encodePrompts(const ClipModel& clip, const text::ClipTokenizer& tok, const std::string& text,
                         const std::string& background)
{
    std::vector<std::int64_t> tokens = tok.tokenize(text, clip.config().contextLength);
    const auto bg = tok.tokenize(background, clip.config().contextLength);
    tokens.insert(tokens.end(), bg.begin(), bg.end());
    return clip.encodeText(tokens);
}

TextSegmentResult clipSam(const SamModel& sam, const ClipModel& clip, const FloatArray& textFeatures,
                          const RgbImage& image, const TextSegmentOptions& o)
{
    TextSegmentResult result;
    std::vector<AutoMask> proposals = generateMasks(sam, image, o.autoMask);
    result.proposals = int(proposals.size());
    std::vector<RgbImage> crops;
    for (const auto& m : proposals)
        crops.push_back(maskedCrop(image, m.mask, m.bbox));
    const std::vector<float> p = textProbabilities(clip, textFeatures, crops);
    std::vector<std::size_t> order(proposals.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return p[a] > p[b]; });
    for (std::size_t k = 0; k < order.size() && int(k) < o.topK; ++k) {
        AutoMask& m = proposals[order[k]];
        result.masks.push_back({std::move(m.mask), p[order[k]], m.predictedIou, m.bbox, m.point});
    }
    return result;
}

TextSegmentResult similarity(const SamModel& sam, const ClipModel& clip, const FloatArray& textFeatures,
                             const RgbImage& image, const TextSegmentOptions& o)
{
    // The whole image squeezed to the CLIP input (no crop: every part of the image gets patches).
    const int r = clip.config().imageResolution, g = clip.config().grid();
    RgbImage square;
    square.width = square.height = r;
    square.rgb = image::resizePillow(image.rgb.data(), std::size_t(image.width), std::size_t(image.height), 3,
                                     std::size_t(r), std::size_t(r), image::PillowFilter::Bicubic);
    const FloatArray patches = l2Normalize(clip.patchFeatures(clip.preprocess(square)));  // [1, g, g, E]
    const FloatArray t = l2Normalize(textFeatures);
    const std::size_t e = std::size_t(t.shape[1]);
    TextSegmentResult result;
    result.similarity = FloatArray({g, g});
    for (std::size_t i = 0; i < std::size_t(g) * std::size_t(g); ++i) {
        double text = 0, bg = 0;
        for (std::size_t k = 0; k < e; ++k) {
            text += double(patches.data[i * e + k]) * t.data[k];
            bg += double(patches.data[i * e + k]) * t.data[e + k];
        }
        result.similarity.data[i] = float(text - bg);
    }
    const auto& s = result.similarity.data;
    const std::size_t peak = std::size_t(std::max_element(s.begin(), s.end()) - s.begin());
    const auto [mn, mx] = std::minmax_element(s.begin(), s.end());
    const float cut = *mx - float(o.regionFraction) * (*mx - *mn);
    // The 4-connected patches above the cut that reach the peak; their extent is the box.
    std::vector<bool> in(s.size(), false);
    std::vector<std::size_t> stack{peak};
    in[peak] = true;
    int x0 = g, y0 = g, x1 = -1, y1 = -1;
    while (!stack.empty()) {
        const std::size_t p = stack.back();
        stack.pop_back();
        const int py = int(p) / g, px = int(p) % g;
        x0 = std::min(x0, px), x1 = std::max(x1, px), y0 = std::min(y0, py), y1 = std::max(y1, py);
        const int nb[4][2] = {{1, 0}, {-1, 0}, {0, 1}, {0, -1}};
        for (const auto& d : nb) {
            const int qx = px + d[0], qy = py + d[1];
            if (qx < 0 || qy < 0 || qx >= g || qy >= g)
                continue;
            const std::size_t q = std::size_t(qy) * std::size_t(g) + std::size_t(qx);
            if (!in[q] && s[q] >= cut) {
                in[q] = true;
                stack.push_back(q);
            }
        }
    }
    const double sx = double(image.width) / g, sy = double(image.height) / g;
    SamPrompts prompts;
    prompts.points.push_back({(int(peak) % g + 0.5) * sx, (int(peak) / g + 0.5) * sy, 1});
    result.promptBox = {int(std::floor(x0 * sx)), int(std::floor(y0 * sy)), int(std::ceil((x1 + 1) * sx)) - 1,
                        int(std::ceil((y1 + 1) * sy)) - 1};
    prompts.box = std::array<double, 4>{double(result.promptBox[0]), double(result.promptBox[1]),
                                        double(result.promptBox[2]), double(result.promptBox[3])};
    prompts.multimask = true;
    const SamResult r2 = sam.decode(sam.encode(image), prompts);
    const std::size_t best = std::size_t(std::max_element(r2.iou.data.begin(), r2.iou.data.end()) - r2.iou.data.begin());
    const std::size_t plane = std::size_t(image.width) * std::size_t(image.height);
    TextMask m;
    m.mask.assign(r2.masks.begin() + std::ptrdiff_t(best * plane), r2.masks.begin() + std::ptrdiff_t((best + 1) * plane));
    m.predictedIou = r2.iou.data[best];
    m.point = {prompts.points[0].x, prompts.points[0].y};
    const auto box = automask::maskBox(m.mask.data(), image.width, image.height);
    m.bbox = {box[0], box[1], box[2] - box[0], box[3] - box[1]};
    m.textProbability = textProbabilities(clip, textFeatures, {maskedCrop(image, m.mask, m.bbox)})[0];
    result.masks.push_back(std::move(m));
    return result;
}

}  // namespace

RgbImage maskedCrop(const RgbImage& image, const std::vector<std::uint8_t>& mask, const std::array<int, 4>& b)
{
    const int w = std::max(b[2], 1), h = std::max(b[3], 1), side = std::max(w, h);
    RgbImage out;
    out.width = out.height = side;
    out.rgb.resize(std::size_t(side) * std::size_t(side) * 3);
    for (std::size_t i = 0; i < out.rgb.size(); ++i)
        out.rgb[i] = kNeutral[i % 3];
    const int ox = (side - w) / 2, oy = (side - h) / 2;
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            const int sx = b[0] + x, sy = b[1] + y;
            if (sx < 0 || sy < 0 || sx >= image.width || sy >= image.height)
                continue;
            const std::size_t src = std::size_t(sy) * std::size_t(image.width) + std::size_t(sx);
            if (!mask[src])
                continue;
            const std::size_t dst = std::size_t(y + oy) * std::size_t(side) + std::size_t(x + ox);
            std::copy_n(&image.rgb[src * 3], 3, &out.rgb[dst * 3]);
        }
    return out;
}

TextSegmentResult segmentByText(const SamModel& sam, const ClipModel& clip, const text::ClipTokenizer& tokenizer,
                                const RgbImage& image, const std::string& text, const TextSegmentOptions& o)
{
    if (text.find_first_not_of(" \t\r\n") == std::string::npos)
        throw std::invalid_argument("a text prompt is empty");
    if (image.width <= 0 || image.height <= 0 || image.rgb.size() != std::size_t(image.width) * image.height * 3)
        throw std::invalid_argument("text segmentation takes an RGB image of width x height x 3 bytes");
    const auto start = std::chrono::steady_clock::now();
    const FloatArray textFeatures = encodePrompts(clip, tokenizer, text, o.background);
    TextSegmentResult r = o.method == TextSegmentMethod::ClipSam ? clipSam(sam, clip, textFeatures, image, o)
                                                                 : similarity(sam, clip, textFeatures, image, o);
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return r;
}

}  // namespace camsight::ml
