#pragma once
// Local
#include "core/ml/Clip.h"
#include "core/ml/SamAutoMask.h"

// Std
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace camsight::text {
class ClipTokenizer;
}

namespace camsight::ml {

enum class TextSegmentMethod {
    ClipSam,     ///< SAM's automatic masks, each scored by CLIP against the text and "background" (CLIP-SAM)
    Similarity,  ///< CLIP patch-to-text similarity gives a peak point and a box that prompt SAM once
};

struct TextSegmentOptions {
    TextSegmentMethod method = TextSegmentMethod::ClipSam;
    int topK = 3;                          ///< masks kept (CLIP-SAM), best first
    std::string background = "background"; ///< the competing prompt
    AutoMaskOptions autoMask;              ///< CLIP-SAM's mask proposals
    double regionFraction = 0.5;           ///< similarity: patches within this fraction of the range below the peak
};

struct TextMask {
    std::vector<std::uint8_t> mask;  ///< height x width
    float textProbability = 0;       ///< softmax of CLIP's logits over [text, background] for the masked crop
    float predictedIou = 0;          ///< SAM's own estimate
    std::array<int, 4> bbox{};       ///< x, y, width, height
    std::array<double, 2> point{};   ///< the SAM prompt point
};

struct TextSegmentResult {
    std::vector<TextMask> masks;  ///< best first
    int proposals = 0;            ///< CLIP-SAM: automatic masks scored
    FloatArray similarity;        ///< similarity path: [grid, grid] text minus background cosine similarity
    std::array<int, 4> promptBox{};  ///< similarity path: the box given to SAM (x0, y0, x1, y1)
    double seconds = 0;
};

/// The crop CLIP scores for a mask: its bounding box, pixels outside the mask set to CLIP's mean colour, padded to a
/// square with the same colour (so the centre crop cuts nothing).
RgbImage maskedCrop(const RgbImage& image, const std::vector<std::uint8_t>& mask, const std::array<int, 4>& bboxXywh);

/// Text -> masks with SAM and CLIP (see TextSegmentMethod). Throws std::invalid_argument for an empty text.
TextSegmentResult segmentByText(const SamModel& sam, const ClipModel& clip, const text::ClipTokenizer& tokenizer,
                                const RgbImage& image, const std::string& text, const TextSegmentOptions& options = {});

}  // namespace camsight::ml
