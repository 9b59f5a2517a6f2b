#pragma once
// Local
#include "core/ml/FloatArray.h"
#include "core/ml/RgbImage.h"

// Std
#include <array>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace camsight::ml {

using SamImage = RgbImage;

/// The image embedding of one image: computed once by SamModel::encode, reused for every prompt.
struct SamEmbedding {
    FloatArray features;              ///< [1, C, 64, 64]
    int originalWidth = 0, originalHeight = 0;
    int inputWidth = 0, inputHeight = 0;  ///< the resized image inside the 1024 x 1024 input
    std::string variant;              ///< the model that made it (decode refuses another)
    bool medsam = false;              ///< made with MedSAM's preprocessing (1024 x 1024 without keeping the aspect)

    /// Writes the embedding as float16 (half the bytes; SAM's decoder is insensitive to that rounding) with its
    /// sizes, so it can be cached on disk. Throws std::runtime_error naming the file.
    void save(const std::string& path) const;
    static SamEmbedding load(const std::string& path);
};

/// One click: x = column, y = row, in original image pixels; label 1 = foreground, 0 = background.
struct SamPoint {
    double x = 0, y = 0;
    int label = 1;
};

struct SamPrompts {
    std::vector<SamPoint> points;
    std::optional<std::array<double, 4>> box;  ///< x0, y0, x1, y1 in original pixels
    FloatArray maskInput;                       ///< previous low-resolution logits [1, 256, 256] (or empty)
    bool multimask = true;                      ///< three masks (and IoU scores) instead of one
    /// Also keep the upsampled logits at the original size (SamResult::logits, 4 bytes a pixel a mask). An interactive
    /// client that shows the masks can switch this off: the masks are then thresholded row by row as they are made,
    /// and SamResult::logits is left empty (SamPredictor.predict's outputs: masks, IoU, low-resolution logits).
    bool fullLogits = true;
};

struct SamResult {
    FloatArray lowResLogits;  ///< [K, 256, 256]
    FloatArray iou;           ///< [K]
    FloatArray logits;        ///< [K, H, W] at the original size (empty without SamPrompts::fullLogits)
    std::vector<std::uint8_t> masks;  ///< [K, H, W], logits > 0
    /// MedSAM mode: sigmoid of the low-resolution logits resized to the original size, [K, H, W] (masks = prob > 0.5;
    /// `logits` then holds log(p / (1 - p)) of these). Empty otherwise.
    FloatArray probabilities;
};

/// Segment Anything (SAM ViT-B/L/H, MobileSAM vit_t and MedSAM checkpoints) in LibTorch on the CPU, equal to the reference
/// SamPredictor. The architecture is read from the checkpoint's keys and shapes.
class SamModel {
public:
    /// Throws CheckpointError naming the file and, for a wrong or partial checkpoint, the first mismatching key.
    static SamModel load(const std::string& checkpoint);
    SamModel(SamModel&&) noexcept;
    SamModel& operator=(SamModel&&) noexcept;
    ~SamModel();

    std::string variant() const;  ///< "vit_b", "vit_l", "vit_h", "vit_t", or "custom" / "custom_t" for other sizes

    /// The reference preprocessing (Pillow bilinear resize of the longest side to 1024, pixel mean/std, zero padding
    /// at the bottom and right) and the image encoder.
    SamEmbedding encode(const SamImage& image) const;
    /// The normalised, padded encoder input [1, 3, 1024, 1024] (for inspection and tests).
    FloatArray preprocess(const SamImage& image) const;
    /// MedSAM's inference preprocessing (MedSAM_Inference.py): the 8-bit image (grey repeated to 3 channels) resized
    /// to 1024 x 1024 without keeping the aspect by scikit-image's cubic spline and truncated to 8 bits, then min-max
    /// scaled to [0, 1]; no mean/std, no padding. Then the image encoder.
    SamEmbedding encodeMedSam(const SamImage& image) const;
    /// The 1024 x 1024 x 3 8-bit image of MedSAM's step 2 (for inspection and tests).
    static std::vector<std::uint8_t> medsamResize(const SamImage& image);
    /// Prompt encoder, mask decoder and the reference post-processing (upsample to 1024, crop, resize to the original
    /// size; for a MedSAM embedding: coordinates scaled by 1024 / size per axis, sigmoid, one bilinear resize from 256
    /// to the original size, threshold 0.5). Throws std::invalid_argument for an embedding of another model or a prompt
    /// without points or box.
    SamResult decode(const SamEmbedding& embedding, const SamPrompts& prompts) const;
    /// The same into `result`, reusing its arrays where the sizes repeat: an interactive client decoding click after
    /// click on one image allocates and clears nothing per click (three 1024 x 768 masks are 12 MB). When the decode
    /// is refused (an embedding of another model, a bad prompt) `result` is left as it was.
    void decode(const SamEmbedding& embedding, const SamPrompts& prompts, SamResult& result) const;

    /// Automatic mask generation's decoding (SamAutomaticMaskGenerator._process_batch): one foreground point per prompt,
    /// decoded with three masks each (one prompt at a time: faster than one batch on the CPU, same results); the
    /// logits of every mask at the original size are handed to `sink(prompt, maskIndex, predictedIou, logits[H * W])`
    /// one mask at a time. Masks whose predicted IoU is not above `iouAbove` are neither upsampled
    /// nor handed over (the generator's pred_iou_thresh filter, applied before the expensive step). Prompt by prompt,
    /// masks in order. Not for MedSAM embeddings.
    void decodePointBatch(const SamEmbedding& embedding, const std::vector<SamPoint>& points,
                          const std::function<void(std::size_t, int, float, const float*)>& sink,
                          float iouAbove = -std::numeric_limits<float>::infinity()) const;

    struct Impl;

private:
    explicit SamModel(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

}  // namespace camsight::ml
