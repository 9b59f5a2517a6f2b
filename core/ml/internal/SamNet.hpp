#pragma once
// Private to core/ml: the Segment Anything networks in LibTorch, over a checkpoint's tensors by name.

// Local
#include "core/ml/internal/Checkpoint.hpp"

// LibTorch
#include <torch/torch.h>

// Std
#include <map>
#include <string>
#include <vector>

namespace camsight::ml::sam {

/// Architecture read from a checkpoint's keys and shapes.
struct Config {
    std::string variant;              ///< "vit_b", "vit_l", "vit_h", "vit_t" or "custom"
    bool tinyVit = false;             ///< MobileSAM's TinyViT encoder
    // ViT encoder
    int embedDim = 0, depth = 0, heads = 0, windowSize = 14, patchSize = 16, imageSize = 1024;
    std::vector<int> globalBlocks;
    // TinyViT encoder
    std::vector<int> tinyDims, tinyDepths, tinyHeads, tinyWindows;
    // Neck, prompt encoder, mask decoder
    int outChans = 0, maskInChans = 0, decoderDepth = 0, decoderMlpDim = 0, decoderHeads = 8, iouHiddenDim = 0,
        iouHeadDepth = 3, maskTokens = 4;
};

/// Weights by key, with the architecture they describe.
class Weights {
public:
    Weights(StateDict sd, std::string file);
    const torch::Tensor& at(const std::string& key) const;
    bool has(const std::string& key) const { return m_byKey.count(key) > 0; }
    const std::string& file() const { return m_file; }
    const StateDict& all() const { return m_sd; }

private:
    StateDict m_sd;
    std::map<std::string, torch::Tensor> m_byKey;
    std::string m_file;
};

/// Infers the configuration from the keys and shapes (CheckpointError naming the file when it is not a SAM).
Config inferConfig(const Weights& w);

/// Every key the configuration needs, with its shape, in the upstream state_dict order.
std::vector<std::pair<std::string, std::vector<std::int64_t>>> expectedKeys(const Config& c);

/// Checks that `w` holds exactly the expected keys and shapes; CheckpointError naming the first mismatch.
void checkKeys(const Weights& w, const Config& c);

/// [1, 3, 1024, 1024] normalised input -> [1, C, 64, 64] image embedding.
torch::Tensor encodeImage(const Weights& w, const Config& c, const torch::Tensor& input);

/// Prompts in the 1024 frame (before the +0.5 pixel-centre shift, which happens here).
struct Prompt {
    torch::Tensor points;     ///< [1, N, 2] float, or undefined
    torch::Tensor labels;     ///< [1, N] int/float (1, 0, -1)
    torch::Tensor box;        ///< [1, 4] float (x0, y0, x1, y1), or undefined
    torch::Tensor maskInput;  ///< [1, 1, 256, 256] logits, or undefined
};

/// The dense positional encoding of the image-embedding grid [1, C, 64, 64] (fixed by the weights: compute it once).
torch::Tensor densePositionalEncoding(const Weights& w, const Config& c);

/// Mask decoder output for one prompt: low-resolution logits [1, K, 256, 256] and IoU predictions [1, K]
/// (K = 3 with multimask, else 1). `imagePe` is densePositionalEncoding(w, c), as it is or as tokens [1, HW, C]
/// (contiguous: saves a transposition per call).
std::pair<torch::Tensor, torch::Tensor> decode(const Weights& w, const Config& c, const torch::Tensor& embedding,
                                               const torch::Tensor& imagePe,
                                               const Prompt& prompt, bool multimask);

}  // namespace camsight::ml::sam
