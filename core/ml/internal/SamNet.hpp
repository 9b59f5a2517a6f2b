#pragma once
// Private to core/ml: the Segment Anything networks in LibTorch, over a checkpoint's tensors by name.

// Local
#include "core/ml/internal/Amx.hpp"
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

/// The prompt encoder's dense embedding of a mask input [1, 1, 256, 256]: [1, C, 64, 64] (mask_downscaling). Its
/// sparse embeddings are made by the decoder's token side (promptTokens, internal/SamDecoderTokens.hpp).
torch::Tensor maskEmbedding(const Weights& w, const torch::Tensor& maskInput);

/// The mask decoder's weights laid out for decode(): each linear layer's weight transposed and cut into panels of 32
/// output columns, so that a product with a handful of prompt tokens reads it once, front to back (smallLinear); the
/// upscaling convolutions as per-pixel product matrices; and the dense positional encoding as per-axis sine and
/// cosine tables, from which each block of pixels makes its own (the 4 MB map read in every pass cost ~1 ms per
/// click). Made once per model.
class DecoderWeights {
public:
    DecoderWeights(const Weights& w, const Config& c);
    /// y [rows, outputs(p)] = x [rows, in] W^T + b for linear layer `p` (a "mask_decoder." key without ".weight"):
    /// the prompt-token side's float rows (SamDecoderTokens.cpp).
    void linear(const std::string& p, const float* x, std::int64_t rows, float* y) const;
    std::int64_t outputs(const std::string& p) const;
    /// A prompt encoder or mask decoder tensor by key, float32 and contiguous (the checkpoint's own when it is so,
    /// else converted once): the prompt-token side reads norms, embeddings and attention weights through it.
    const float* values(const std::string& key) const;

    /// The dense positional encoding's tables per axis of the embedding grid (fourierBlock): [C/2, w] and [C/2, h].
    const float* peSinX() const { return m_sinX.data_ptr<float>(); }
    const float* peCosX() const { return m_cosX.data_ptr<float>(); }
    const float* peSinY() const { return m_sinY.data_ptr<float>(); }
    const float* peCosY() const { return m_cosY.data_ptr<float>(); }
    std::int64_t gridHeight() const { return m_gridH; }
    std::int64_t gridWidth() const { return m_gridW; }
    /// Output upscaling convolution 0 or 1 as a matrix [4 C_out, C_in], rows (sub-pixel, output channel).
    const torch::Tensor& upscaling(int i) const { return m_upscaling[i]; }
    /// The same packed for AMX products (amx::packA), where the CPU has AMX; else empty.
    const amx::Tiles& upscalingTiles(int i) const { return m_upscalingTiles[i]; }

private:
    struct Layer {
        torch::Tensor panels, bias;  // see smallLinear
        std::int64_t in = 0, out = 0;
    };
    const Layer& layer(const std::string& p) const;
    std::map<std::string, Layer> m_layers;
    std::map<std::string, torch::Tensor> m_values;
    torch::Tensor m_sinX, m_cosX, m_sinY, m_cosY;
    torch::Tensor m_upscaling[2];
    amx::Tiles m_upscalingTiles[2];
    std::int64_t m_gridH = 0, m_gridW = 0;
};

/// Mask decoder output for one prompt (batch 1): low-resolution logits [1, K, 256, 256] and IoU predictions [1, K]
/// (K = 3 with multimask, else 1). `embedding` is [1, C, h, w], contiguous. On the CPU, float32 (SamDecoder.cpp).
std::pair<torch::Tensor, torch::Tensor> decode(const Weights& w, const DecoderWeights& dw, const Config& c,
                                               const torch::Tensor& embedding, const Prompt& prompt, bool multimask);

}  // namespace camsight::ml::sam
