#pragma once
// Local
#include "core/ml/FloatArray.h"
#include "core/ml/RgbImage.h"

// Std
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace camsight::ml {

/// The architecture of a CLIP checkpoint, read from its weights as openai/CLIP's build_model does.
struct ClipConfig {
    int embedDim = 0;
    int imageResolution = 0, visionLayers = 0, visionWidth = 0, visionPatch = 0, visionHeads = 0;
    int contextLength = 0, vocabSize = 0, textWidth = 0, textHeads = 0, textLayers = 0;
    int grid() const { return visionPatch > 0 ? imageResolution / visionPatch : 0; }
};

/// OpenAI CLIP (ViT image encoders) on the CPU, from either official form:
/// - the TorchScript "JIT" archive (methods encode_image / encode_text): run as it is when its weights are float32 on
///   the CPU; the official CUDA/float16 archives run through the native forward on their weights (float32), which
///   needs no graph patching;
/// - a plain state_dict (torch.save zip, read by the project's own checkpoint reader, never executing anything).
/// The native forward also gives the patch features of the fast text-to-point path.
class ClipModel {
public:
    /// Throws CheckpointError naming the file: not a CLIP, a ResNet image encoder in a state_dict, missing keys.
    static ClipModel load(const std::string& path);
    ClipModel(ClipModel&&) noexcept;
    ClipModel& operator=(ClipModel&&) noexcept;
    ~ClipModel();

    const ClipConfig& config() const;
    std::string form() const;  ///< "torchscript" or "state_dict"
    float logitScale() const;  ///< exp(logit_scale)

    /// clip._transform(R): Pillow bicubic resize of the shorter side to R (the longer to int(R * long / short)),
    /// centre crop R x R (offsets rounded half to even), /255, CLIP's mean and std. [1, 3, R, R].
    FloatArray preprocess(const RgbImage& image) const;
    /// Image features [N, E] of a preprocessed batch [N, 3, R, R] (not normalised).
    FloatArray encodeImage(const FloatArray& input) const;
    /// Text features [N, E] of token rows [N, contextLength] (not normalised); the end token is the row's largest id.
    FloatArray encodeText(const std::vector<std::int64_t>& tokens) const;
    /// The native forward, whatever the form (for tests and the patch path): same meaning as encodeImage/encodeText.
    FloatArray encodeImageNative(const FloatArray& input) const;
    FloatArray encodeTextNative(const std::vector<std::int64_t>& tokens) const;
    /// Dense patch features [N, grid, grid, E] of a preprocessed batch, ClearCLIP-style: the last block keeps only its
    /// value path (no query-key attention, residual or MLP), then ln_post and the projection, so every patch lands in
    /// the joint embedding space.
    FloatArray patchFeatures(const FloatArray& input) const;

private:
    struct Impl;
    explicit ClipModel(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

/// Cosine similarities scaled by the model's logit scale: [images, texts] from features [images, E] and [texts, E].
FloatArray clipLogits(const FloatArray& imageFeatures, const FloatArray& textFeatures, float logitScale);
/// Rows divided by their L2 norm.
FloatArray l2Normalize(const FloatArray& features);

}  // namespace camsight::ml
