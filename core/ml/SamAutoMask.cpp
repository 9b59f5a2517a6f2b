#include "core/ml/SamAutoMask.h"

// Std
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>

namespace camsight::ml {
namespace automask {

std::vector<std::array<double, 2>> pointGrid(int n)
{
    // build_point_grid: n points per side at (i + 0.5) / n (numpy linspace), rows of constant y.
    std::vector<double> side(std::size_t(std::max(n, 0)));
    const double offset = 1.0 / (2.0 * n);
    const double step = n > 1 ? (1.0 - 2 * offset) / double(n - 1) : 0.0;  // numpy.linspace(offset, 1 - offset, n)
    for (int i = 0; i < n; ++i)
        side[std::size_t(i)] = i == n - 1 && n > 1 ? 1.0 - offset : double(i) * step + offset;
    std::vector<std::array<double, 2>> out;
    for (int y = 0; y < n; ++y)
        for (int x = 0; x < n; ++x)
            out.push_back({side[std::size_t(x)], side[std::size_t(y)]});
    return out;
}

std::vector<std::array<int, 4>> cropBoxes(int w, int h, int layers, double overlapRatio, std::vector<int>* layerOf)
{
    std::vector<std::array<int, 4>> boxes{{0, 0, w, h}};
    std::vector<int> idx{0};
    const int shortSide = std::min(w, h);
    const auto cropLen = [](int orig, int n, int overlap) {
        return int(std::ceil((double(overlap) * (n - 1) + orig) / n));
    };
    for (int layer = 0; layer < layers; ++layer) {
        const int n = 1 << (layer + 1);
        const int overlap = int(overlapRatio * shortSide * (2.0 / n));
        const int cw = cropLen(w, n, overlap), ch = cropLen(h, n, overlap);
        for (int i = 0; i < n; ++i)
            for (int j = 0; j < n; ++j) {
                const int x0 = (cw - overlap) * i, y0 = (ch - overlap) * j;
                boxes.push_back({x0, y0, std::min(x0 + cw, w), std::min(y0 + ch, h)});
                idx.push_back(layer + 1);
            }
    }
    if (layerOf)
        *layerOf = idx;
    return boxes;
}

std::vector<std::size_t> nms(const std::vector<std::array<float, 4>>& boxes, const std::vector<float>& scores,
                             double iouThreshold)
{
    std::vector<std::size_t> order(boxes.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return scores[a] > scores[b]; });
    std::vector<bool> suppressed(boxes.size(), false);
    std::vector<std::size_t> keep;
    const auto area = [](const std::array<float, 4>& b) { return (b[2] - b[0]) * (b[3] - b[1]); };
    for (std::size_t oi = 0; oi < order.size(); ++oi) {
        const std::size_t i = order[oi];
        if (suppressed[i])
            continue;
        keep.push_back(i);
        for (std::size_t oj = oi + 1; oj < order.size(); ++oj) {
            const std::size_t j = order[oj];
            if (suppressed[j])
                continue;
            const float iw = std::max(0.0f, std::min(boxes[i][2], boxes[j][2]) - std::max(boxes[i][0], boxes[j][0]));
            const float ih = std::max(0.0f, std::min(boxes[i][3], boxes[j][3]) - std::max(boxes[i][1], boxes[j][1]));
            const float inter = iw * ih;
            const float iou = inter / (area(boxes[i]) + area(boxes[j]) - inter);  // NaN for two empty boxes: kept
            if (iou > iouThreshold)
                suppressed[j] = true;
        }
    }
    return keep;
}

std::array<int, 4> maskBox(const std::uint8_t* m, int w, int h)
{
    int x0 = w, y0 = h, x1 = -1, y1 = -1;
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
            if (m[std::size_t(y) * std::size_t(w) + std::size_t(x)]) {
                x0 = std::min(x0, x);
                x1 = std::max(x1, x);
                y0 = std::min(y0, y);
                y1 = std::max(y1, y);
            }
    if (x1 < 0)
        return {0, 0, 0, 0};
    return {x0, y0, x1, y1};
}

bool removeSmallRegions(std::vector<std::uint8_t>& mask, int w, int h, int minArea, bool holes)
{
    // 8-connected components of the working mask (the mask, or its complement for holes), labelled in raster order.
    const std::size_t n = std::size_t(w) * std::size_t(h);
    std::vector<int> label(n, 0);
    std::vector<std::int64_t> sizes{0};
    std::vector<std::size_t> stack;
    for (std::size_t start = 0; start < n; ++start) {
        if (bool(mask[start]) == holes || label[start] != 0)
            continue;
        const int id = int(sizes.size());
        sizes.push_back(0);
        label[start] = id;
        stack.push_back(start);
        while (!stack.empty()) {
            const std::size_t p = stack.back();
            stack.pop_back();
            ++sizes[std::size_t(id)];
            const int py = int(p / std::size_t(w)), px = int(p % std::size_t(w));
            for (int dy = -1; dy <= 1; ++dy)
                for (int dx = -1; dx <= 1; ++dx) {
                    const int qy = py + dy, qx = px + dx;
                    if (qy < 0 || qy >= h || qx < 0 || qx >= w)
                        continue;
                    const std::size_t q = std::size_t(qy) * std::size_t(w) + std::size_t(qx);
                    if (bool(mask[q]) != holes && label[q] == 0) {
                        label[q] = id;
                        stack.push_back(q);
                    }
                }
        }
    }
    std::vector<bool> small(sizes.size(), false);
    bool any = false;
    for (std::size_t i = 1; i < sizes.size(); ++i)
        if (sizes[i] < minArea)
            small[i] = any = true;
    if (!any)
        return false;
    std::vector<bool> fill(sizes.size(), false);
    if (holes) {
        fill[0] = true;  // the mask itself
        for (std::size_t i = 1; i < sizes.size(); ++i)
            fill[i] = small[i];
    } else {
        bool none = true;
        for (std::size_t i = 1; i < sizes.size(); ++i)
            none = none && !(fill[i] = !small[i]);
        if (none)  // every island is small: keep the largest
            fill[std::size_t(std::max_element(sizes.begin() + 1, sizes.end()) - sizes.begin())] = true;
    }
    for (std::size_t p = 0; p < n; ++p)
        mask[p] = fill[std::size_t(label[p])] ? 1 : 0;
    return true;
}

}  // namespace automask

namespace {

RgbImage cropImage(const RgbImage& image, const std::array<int, 4>& box)
{
    RgbImage out;
    out.width = box[2] - box[0];
    out.height = box[3] - box[1];
    out.rgb.resize(std::size_t(out.width) * std::size_t(out.height) * 3);
    for (int y = 0; y < out.height; ++y)
        std::copy_n(&image.rgb[(std::size_t(y + box[1]) * std::size_t(image.width) + std::size_t(box[0])) * 3],
                    std::size_t(out.width) * 3, &out.rgb[std::size_t(y) * std::size_t(out.width) * 3]);
    return out;
}

std::array<float, 4> asFloat(const std::array<int, 4>& b) { return {float(b[0]), float(b[1]), float(b[2]), float(b[3])}; }

// One crop: a point grid, batched decoding, filtering, NMS; masks placed in the full image.
std::vector<AutoMask> processCrop(const SamModel& model, const RgbImage& image, const std::array<int, 4>& crop,
                                  const std::vector<std::array<double, 2>>& grid, const AutoMaskOptions& o,
                                  const std::function<void(int, int)>& progress, int& done, int total)
{
    const RgbImage cropped = crop == std::array<int, 4>{0, 0, image.width, image.height} ? RgbImage() : cropImage(image, crop);
    const RgbImage& source = cropped.rgb.empty() ? image : cropped;
    const SamEmbedding embedding = model.encode(source);
    const int cw = source.width, ch = source.height;
    const std::size_t plane = std::size_t(cw) * std::size_t(ch);
    std::vector<AutoMask> kept;
    std::vector<std::array<int, 4>> keptBoxes;  // crop-local xyxy
    // Masks at or below this predicted IoU are not even upsampled (one float step below the threshold, so that the
    // exact comparison in the sink below decides).
    const float prefilter = o.predIouThresh > 0 ? std::nextafter(float(o.predIouThresh), -1.0f)
                                                : -std::numeric_limits<float>::infinity();
    for (std::size_t start = 0; start < grid.size(); start += std::size_t(o.pointsPerBatch)) {
        const std::size_t end = std::min(grid.size(), start + std::size_t(o.pointsPerBatch));
        std::vector<SamPoint> points;
        for (std::size_t i = start; i < end; ++i)
            points.push_back({grid[i][0] * cw, grid[i][1] * ch, 1});
        model.decodePointBatch(embedding, points, [&](std::size_t p, int, float iou, const float* logits) {
            if (o.predIouThresh > 0 && !(iou > o.predIouThresh))
                return;
            std::int64_t inner = 0, outer = 0;
            const float hi = float(0.0 + o.stabilityScoreOffset), lo = float(0.0 - o.stabilityScoreOffset);
            for (std::size_t i = 0; i < plane; ++i) {
                inner += logits[i] > hi;
                outer += logits[i] > lo;
            }
            const float stability = float(inner) / float(outer);
            if (o.stabilityScoreThresh > 0 && !(stability >= o.stabilityScoreThresh))
                return;
            std::vector<std::uint8_t> local(plane);
            for (std::size_t i = 0; i < plane; ++i)
                local[i] = logits[i] > 0.0f;
            const auto box = automask::maskBox(local.data(), cw, ch);
            // is_box_near_crop_edge (atol 20): a box edge near the crop's edge that is not also the image's edge.
            const std::array<int, 4> global{box[0] + crop[0], box[1] + crop[1], box[2] + crop[0], box[3] + crop[1]};
            const std::array<int, 4> imageBox{0, 0, image.width, image.height};
            for (int k = 0; k < 4; ++k)
                if (std::abs(global[k] - crop[k]) <= 20 && std::abs(global[k] - imageBox[k]) > 20)
                    return;
            AutoMask m;
            m.predictedIou = iou;
            m.stabilityScore = stability;
            m.point = {points[p].x + crop[0], points[p].y + crop[1]};
            m.mask = std::move(local);
            kept.push_back(std::move(m));
            keptBoxes.push_back(box);
        }, prefilter);
        done += int(end - start);
        if (progress)
            progress(done, total);
    }
    std::vector<std::array<float, 4>> boxes;
    std::vector<float> scores;
    for (std::size_t i = 0; i < kept.size(); ++i) {
        boxes.push_back(asFloat(keptBoxes[i]));
        scores.push_back(kept[i].predictedIou);
    }
    std::vector<AutoMask> out;
    for (const std::size_t i : automask::nms(boxes, scores, o.boxNmsThresh)) {
        AutoMask m = std::move(kept[i]);
        const auto& b = keptBoxes[i];
        m.bbox = {b[0] + crop[0], b[1] + crop[1], b[2] + crop[0], b[3] + crop[1]};  // xyxy until the end
        m.cropBox = crop;
        if (source.width != image.width || source.height != image.height) {  // uncrop_masks: pad to the image
            std::vector<std::uint8_t> full(std::size_t(image.width) * std::size_t(image.height), 0);
            for (int y = 0; y < ch; ++y)
                std::copy_n(&m.mask[std::size_t(y) * std::size_t(cw)], std::size_t(cw),
                            &full[std::size_t(y + crop[1]) * std::size_t(image.width) + std::size_t(crop[0])]);
            m.mask = std::move(full);
        }
        out.push_back(std::move(m));
    }
    return out;
}

}  // namespace

std::vector<AutoMask> generateMasks(const SamModel& model, const RgbImage& image, const AutoMaskOptions& o,
                                    const std::function<void(int, int)>& progress)
{
    if (image.width <= 0 || image.height <= 0 || image.rgb.size() != std::size_t(image.width) * image.height * 3)
        throw std::invalid_argument("automatic mask generation takes an RGB image of width x height x 3 bytes");
    if (o.pointsPerSide < 1 || o.pointsPerSide > 256 || o.pointsPerBatch < 1 || o.cropLayers < 0 || o.cropLayers > 4 ||
        o.cropPointsDownscale < 1)
        throw std::invalid_argument("automatic mask generation: points per side must be 1..256, points per batch >= 1, "
                                    "crop layers 0..4, crop point downscale >= 1");
    std::vector<int> layerOf;
    const auto crops = automask::cropBoxes(image.width, image.height, o.cropLayers, o.cropOverlapRatio, &layerOf);
    std::vector<std::vector<std::array<double, 2>>> grids;
    for (int layer = 0; layer <= o.cropLayers; ++layer)
        grids.push_back(automask::pointGrid(int(o.pointsPerSide / std::pow(double(o.cropPointsDownscale), layer))));
    int total = 0, done = 0;
    for (const int layer : layerOf)
        total += int(grids[std::size_t(layer)].size());
    std::vector<AutoMask> all;
    for (std::size_t c = 0; c < crops.size(); ++c) {
        auto part = processCrop(model, image, crops[c], grids[std::size_t(layerOf[c])], o, progress, done, total);
        std::move(part.begin(), part.end(), std::back_inserter(all));
    }
    if (crops.size() > 1) {  // across crops: prefer masks from smaller crops
        std::vector<std::array<float, 4>> boxes;
        std::vector<float> scores;
        for (const auto& m : all) {
            boxes.push_back(asFloat(m.bbox));
            scores.push_back(1.0f / float((m.cropBox[2] - m.cropBox[0]) * (m.cropBox[3] - m.cropBox[1])));
        }
        std::vector<AutoMask> kept;
        for (const std::size_t i : automask::nms(boxes, scores, o.cropNmsThresh))
            kept.push_back(std::move(all[i]));
        all = std::move(kept);
    }
    if (o.minMaskRegionArea > 0) {  // postprocess_small_regions: changed masks lose to unchanged ones in an NMS
        std::vector<std::array<float, 4>> boxes;
        std::vector<float> scores;
        std::vector<std::array<int, 4>> newBoxes;
        std::vector<std::vector<std::uint8_t>> cleaned;
        for (const auto& m : all) {
            std::vector<std::uint8_t> mask = m.mask;
            bool changed = automask::removeSmallRegions(mask, image.width, image.height, o.minMaskRegionArea, true);
            changed = automask::removeSmallRegions(mask, image.width, image.height, o.minMaskRegionArea, false) || changed;
            newBoxes.push_back(automask::maskBox(mask.data(), image.width, image.height));
            boxes.push_back(asFloat(newBoxes.back()));
            scores.push_back(changed ? 0.0f : 1.0f);
            cleaned.push_back(std::move(mask));
        }
        std::vector<AutoMask> kept;
        for (const std::size_t i : automask::nms(boxes, scores, std::max(o.boxNmsThresh, o.cropNmsThresh))) {
            if (scores[i] == 0.0f) {
                all[i].mask = std::move(cleaned[i]);
                all[i].bbox = newBoxes[i];
            }
            kept.push_back(std::move(all[i]));
        }
        all = std::move(kept);
    }
    for (auto& m : all) {
        m.area = std::count(m.mask.begin(), m.mask.end(), std::uint8_t(1));
        m.bbox = {m.bbox[0], m.bbox[1], m.bbox[2] - m.bbox[0], m.bbox[3] - m.bbox[1]};
        m.cropBox = {m.cropBox[0], m.cropBox[1], m.cropBox[2] - m.cropBox[0], m.cropBox[3] - m.cropBox[1]};
    }
    return all;
}

}  // namespace camsight::ml
