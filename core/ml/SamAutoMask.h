#pragma once
// Local
#include "core/ml/Sam.h"

// Std
#include <array>
#include <cstdint>
#include <functional>
#include <vector>

namespace camsight::ml {

/// segment-anything's SamAutomaticMaskGenerator settings, with its defaults.
struct AutoMaskOptions {
    int pointsPerSide = 32;
    int pointsPerBatch = 64;
    double predIouThresh = 0.88;
    double stabilityScoreThresh = 0.95;
    double stabilityScoreOffset = 1.0;
    double boxNmsThresh = 0.7;
    int cropLayers = 0;
    double cropNmsThresh = 0.7;
    double cropOverlapRatio = 512.0 / 1500.0;
    int cropPointsDownscale = 1;
    int minMaskRegionArea = 0;  ///< > 0: holes and islands smaller than this are removed (8-connected), as the reference
};

/// One generated mask, as the reference's output records (bbox and crop box as x, y, width, height).
struct AutoMask {
    std::vector<std::uint8_t> mask;  ///< height x width, 0/1
    std::int64_t area = 0;
    std::array<int, 4> bbox{};
    float predictedIou = 0;
    std::array<double, 2> point{};  ///< the prompt point, x and y in image pixels
    float stabilityScore = 0;
    std::array<int, 4> cropBox{};
};

/// SamAutomaticMaskGenerator.generate: a point grid per crop layer, prompts decoded in batches, predicted-IoU and
/// stability filtering, masks touching a crop edge dropped, box NMS per crop and across crops (smaller crops
/// preferred), optional small-region clean-up with its NMS. Masks come out in the reference's order. `progress`
/// (optional) gets (prompts done, prompts in all) after every batch.
std::vector<AutoMask> generateMasks(const SamModel& model, const RgbImage& image, const AutoMaskOptions& options = {},
                                    const std::function<void(int, int)>& progress = {});

namespace automask {
/// The helpers, exposed for tests.
std::vector<std::array<double, 2>> pointGrid(int pointsPerSide);
std::vector<std::array<int, 4>> cropBoxes(int width, int height, int layers, double overlapRatio, std::vector<int>* layerOf);
/// torchvision.ops.nms: indices kept, by descending score (stable for ties).
std::vector<std::size_t> nms(const std::vector<std::array<float, 4>>& boxes, const std::vector<float>& scores,
                             double iouThreshold);
/// remove_small_regions: returns true when the mask changed. `holes` fills small holes, else drops small islands.
bool removeSmallRegions(std::vector<std::uint8_t>& mask, int width, int height, int minArea, bool holes);
/// batched_mask_to_box for one mask: x0, y0, x1, y1 inclusive; all zero for an empty mask.
std::array<int, 4> maskBox(const std::uint8_t* mask, int width, int height);
}  // namespace automask

}  // namespace camsight::ml
