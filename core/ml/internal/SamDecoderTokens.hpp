#pragma once
// Private to the SAM mask decoder (SamDecoder.cpp): its prompt-token side. A click's tokens are a handful of rows
// of C values (IoU token, mask tokens, point and box embeddings), so this side is plain loops over float rows and
// the decoder's weights (DecoderWeights), not LibTorch operations: each of those cost ~5-10 us on this side of a
// decode, whose image passes leave the caches cold, and a click ran ~150 of them (SamDecoderTokens.cpp).

// Local
#include "core/ml/internal/SamNet.hpp"

// Std
#include <cstdint>
#include <string>
#include <vector>

namespace camsight::ml::sam {

/// [rows, cols] floats, row-major.
struct TokenRows {
    std::int64_t rows = 0, cols = 0;
    std::vector<float> values;

    TokenRows() = default;
    TokenRows(std::int64_t r, std::int64_t c) : rows(r), cols(c), values(std::size_t(r * c), 0.0f) {}
    float* data() { return values.data(); }
    const float* data() const { return values.data(); }
    float* row(std::int64_t r) { return values.data() + r * cols; }
    const float* row(std::int64_t r) const { return values.data() + r * cols; }
};

/// Element-wise sum of two same-shaped matrices.
TokenRows operator+(const TokenRows& a, const TokenRows& b);
/// The given rows of x, in that order.
TokenRows selectRows(const TokenRows& x, const std::vector<std::int64_t>& rows);

/// The decoder's tokens [1 + maskTokens + sparse, C]: the IoU token, the mask tokens, then the prompt encoder's
/// sparse embeddings (segment-anything's PromptEncoder._embed_points and _embed_boxes: pixel-centre shift, random
/// Fourier features of the coordinates in the model's input frame, the label's embedding; a padding point when there
/// is no box).
TokenRows promptTokens(const DecoderWeights& dw, const Config& c, const Prompt& p);

/// x [rows, in] times linear layer p's weight, plus its bias.
TokenRows linear(const DecoderWeights& dw, const std::string& p, const TokenRows& x);
/// In place: LayerNorm of every row with layer p's weight and bias.
void layerNormRows(const DecoderWeights& dw, const std::string& p, TokenRows& x, float eps);
/// An MLP: the linear layers named in order, with ReLU between them.
TokenRows mlp(const DecoderWeights& dw, const std::vector<std::string>& layers, const TokenRows& x);
/// The same for `layers` layers named p.layers.0, p.layers.1, ... (the hypernetwork and IoU heads).
TokenRows mlp(const DecoderWeights& dw, const std::string& p, const TokenRows& x, int layers);

/// A two-way transformer layer's self-attention of the tokens and its norm1 (the first layer's without the
/// positional encoding and the residual).
TokenRows selfAttentionBlock(const DecoderWeights& dw, const std::string& p, int layer, const TokenRows& queries,
                             const TokenRows& tokens, int heads);

/// Token-to-image attention of queries q [T, C] over image keys x + pe with values x ([C, N] maps), per head h with
/// q_h = (q W_q^T + b_q)_h / sqrt(d):
///   q_h k_h^T = (q_h W_k,h) (x + pe) + q_h b_k,h, and the second term is the same for every key of a query, which
///   softmax ignores; attn_h (x^T W_v,h^T + b_v,h) = (attn_h x^T) W_v,h^T + b_v,h, since each row of attn sums to 1.
/// tokenToImageQueries gives the [H * T, C] matrix of the first product; tokenToImageOutput finishes from
/// z = attn x^T [H * T, C], to the attention's output [T, C].
TokenRows tokenToImageQueries(const DecoderWeights& dw, const std::string& p, const TokenRows& q, int heads);
TokenRows tokenToImageOutput(const DecoderWeights& dw, const std::string& p, const TokenRows& z, int heads);

/// Image-to-token attention of the image tokens (queries x + pe) over keys k and values v ([T, C] prompt tokens),
/// without projecting the image tokens either: with k_h = (k W_k^T + b_k)_h / sqrt(d), v_h = (v W_v^T + b_v)_h,
///   scores_h = (W_q,h^T k_h^T)^T (x + pe) + k_h b_q,h   ([T, C] x [C, N] per head: g and g0), and
///   out = sum_h (v_h W_o,h^T)^T attn_h + b_o            ([C, T] x [T, N] per head: pvT).
struct ImageToTokenTerms {
    TokenRows g;                    ///< [H * T, C]
    std::vector<float> g0;          ///< [H * T]
    TokenRows pvT;                  ///< [C, H * T]
    const float* outBias = nullptr; ///< [C]
};
ImageToTokenTerms imageToTokenTerms(const DecoderWeights& dw, const std::string& p, const TokenRows& k,
                                    const TokenRows& v, int heads);

}  // namespace camsight::ml::sam
