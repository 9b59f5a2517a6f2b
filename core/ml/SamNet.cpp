#include "core/ml/internal/SamNet.hpp"

// Local
#include "core/ml/internal/Parallel.hpp"
#include "core/ml/internal/SamLayers.hpp"

// Std
#include <cmath>
#include <sstream>

namespace camsight::ml::sam {
namespace {

using Shape = std::vector<std::int64_t>;
using KeyList = std::vector<std::pair<std::string, Shape>>;

std::string shapeText(const Shape& s)
{
    std::string t = "[";
    for (std::size_t i = 0; i < s.size(); ++i)
        t += (i ? ", " : "") + std::to_string(s[i]);
    return t + "]";
}

Shape shapeOf(const torch::Tensor& t) { return Shape(t.sizes().begin(), t.sizes().end()); }

}  // namespace

// ---- Prompt encoder -------------------------------------------------------------------------------------------------

torch::Tensor maskEmbedding(const Weights& w, const torch::Tensor& maskInput)
{
    const std::string m = "prompt_encoder.mask_downscaling.";
    torch::Tensor x = conv(w, m + "0", maskInput.to(torch::kFloat32), 2);
    x = geluExact(layerNorm2d(w, m + "1", x));
    x = conv(w, m + "3", x, 2);
    x = geluExact(layerNorm2d(w, m + "4", x));
    return conv(w, m + "6", x);
}

Weights::Weights(StateDict sd, std::string file) : m_sd(std::move(sd)), m_file(std::move(file))
{
    for (const auto& [k, t] : m_sd)
        m_byKey[k] = t;
}

const torch::Tensor& Weights::at(const std::string& key) const
{
    const auto it = m_byKey.find(key);
    if (it == m_byKey.end())
        throw CheckpointError(m_file + ": missing key '" + key + "'");
    return it->second;
}

Config inferConfig(const Weights& w)
{
    Config c;
    if (!w.has("mask_decoder.iou_token.weight") || !w.has("prompt_encoder.mask_downscaling.3.weight") ||
        !w.has("image_encoder.neck.0.weight"))
        throw CheckpointError(w.file() + ": not a Segment Anything checkpoint (no mask_decoder.iou_token.weight, "
                                         "prompt_encoder or image_encoder.neck keys)");
    auto decoderConfig = [&]() {
        c.outChans = int(w.at("image_encoder.neck.0.weight").size(0));
        c.maskInChans = int(w.at("prompt_encoder.mask_downscaling.3.weight").size(0));
        while (w.has("mask_decoder.transformer.layers." + std::to_string(c.decoderDepth) + ".norm1.weight"))
            ++c.decoderDepth;
        c.decoderMlpDim = int(w.at("mask_decoder.transformer.layers.0.mlp.lin1.weight").size(0));
        c.iouHiddenDim = int(w.at("mask_decoder.iou_prediction_head.layers.0.weight").size(0));
        c.maskTokens = int(w.at("mask_decoder.mask_tokens.weight").size(0));
    };
    if (w.has("image_encoder.patch_embed.seq.0.c.weight")) {
        // MobileSAM's TinyViT: stage widths, depths, heads (rows of attention_biases) and windows (its columns).
        c.tinyVit = true;
        for (int i = 0; w.has("image_encoder.layers." + std::to_string(i) + ".blocks.0." + (i ? "attn.norm.weight" : "conv1.c.weight")); ++i) {
            const std::string p = "image_encoder.layers." + std::to_string(i) + ".blocks.";
            int depth = 0;
            while (w.has(p + std::to_string(depth) + (i ? ".attn.norm.weight" : ".conv1.c.weight")))
                ++depth;
            c.tinyDepths.push_back(depth);
            if (i == 0) {
                c.tinyDims.push_back(int(w.at(p + "0.conv1.c.weight").size(1)));
                c.tinyHeads.push_back(0);
                c.tinyWindows.push_back(0);
            } else {
                const Shape ab = shapeOf(w.at(p + "0.attn.attention_biases"));
                const int ws = int(std::lround(std::sqrt(double(ab.at(1)))));
                if (ws * ws != ab.at(1))
                    throw CheckpointError(w.file() + ": " + p + "0.attn.attention_biases has shape " + shapeText(ab));
                c.tinyDims.push_back(int(w.at(p + "0.attn.norm.weight").size(0)));
                c.tinyHeads.push_back(int(ab.at(0)));
                c.tinyWindows.push_back(ws);
            }
        }
        if (c.tinyDims.size() < 2)
            throw CheckpointError(w.file() + ": a TinyViT encoder with fewer than two stages");
        c.patchSize = 16;  // the embedding grid is 64 x 64, as for the ViT
        decoderConfig();
        c.variant = c.tinyDims == std::vector<int>{64, 128, 160, 320} && c.tinyDepths == std::vector<int>{2, 2, 6, 2}
                        ? "vit_t"
                        : "custom_t";
        return c;
    }
    if (!w.has("image_encoder.patch_embed.proj.weight"))
        throw CheckpointError(w.file() + ": not a Segment Anything checkpoint (no image_encoder.patch_embed.proj.weight "
                                         "or mask_decoder.iou_token.weight)");
    const Shape pe = shapeOf(w.at("image_encoder.patch_embed.proj.weight"));
    if (pe.size() != 4 || pe[1] != 3 || pe[2] != pe[3])
        throw CheckpointError(w.file() + ": image_encoder.patch_embed.proj.weight has shape " + shapeText(pe) +
                              ", expected [C, 3, 16, 16]");
    c.embedDim = int(pe[0]);
    c.patchSize = int(pe[2]);
    while (w.has("image_encoder.blocks." + std::to_string(c.depth) + ".norm1.weight"))
        ++c.depth;
    if (c.depth == 0)
        throw CheckpointError(w.file() + ": no image_encoder blocks");
    const std::int64_t side = c.imageSize / c.patchSize;
    for (int i = 0; i < c.depth; ++i) {
        const std::string k = "image_encoder.blocks." + std::to_string(i) + ".attn.rel_pos_h";
        const Shape r = shapeOf(w.at(k));
        if (r.size() != 2 || r[1] <= 0 || c.embedDim % r[1])
            throw CheckpointError(w.file() + ": " + k + " has shape " + shapeText(r));
        if (r[0] == 2 * side - 1)
            c.globalBlocks.push_back(i);
        else
            c.windowSize = int((r[0] + 1) / 2);
        c.heads = int(c.embedDim / r[1]);
    }
    decoderConfig();
    const std::vector<int> g = c.globalBlocks;
    if (c.embedDim == 768 && c.depth == 12 && g == std::vector<int>{2, 5, 8, 11})
        c.variant = "vit_b";
    else if (c.embedDim == 1024 && c.depth == 24 && g == std::vector<int>{5, 11, 17, 23})
        c.variant = "vit_l";
    else if (c.embedDim == 1280 && c.depth == 32 && g == std::vector<int>{7, 15, 23, 31})
        c.variant = "vit_h";
    else
        c.variant = "custom";
    return c;
}

std::vector<std::pair<std::string, Shape>> expectedKeys(const Config& c)
{
    KeyList k;
    const std::int64_t d = c.embedDim, side = c.imageSize / c.patchSize, o = c.outChans;
    auto add = [&](const std::string& name, Shape s) { k.emplace_back(name, std::move(s)); };
    auto lin = [&](const std::string& p, std::int64_t out, std::int64_t in, bool bias = true) {
        add(p + ".weight", {out, in});
        if (bias)
            add(p + ".bias", {out});
    };
    auto norm = [&](const std::string& p, std::int64_t n) {
        add(p + ".weight", {n});
        add(p + ".bias", {n});
    };
    auto convBnKeys = [&](const std::string& p, std::int64_t out, std::int64_t inPerGroup, std::int64_t k) {
        add(p + ".c.weight", {out, inPerGroup, k, k});
        norm(p + ".bn", out);
        add(p + ".bn.running_mean", {out});
        add(p + ".bn.running_var", {out});
        add(p + ".bn.num_batches_tracked", {});
    };
    std::int64_t lastDim = d;
    if (c.tinyVit) {
        const auto& dims = c.tinyDims;
        const std::string e = "image_encoder.";
        convBnKeys(e + "patch_embed.seq.0", dims[0] / 2, 3, 3);
        convBnKeys(e + "patch_embed.seq.2", dims[0], dims[0] / 2, 3);
        for (std::size_t i = 0; i < dims.size(); ++i) {
            const std::int64_t dim = dims[i];
            const std::string p = e + "layers." + std::to_string(i);
            for (int j = 0; j < c.tinyDepths[i]; ++j) {
                const std::string b = p + ".blocks." + std::to_string(j);
                if (i == 0) {
                    convBnKeys(b + ".conv1", 4 * dim, dim, 1);
                    convBnKeys(b + ".conv2", 4 * dim, 1, 3);
                    convBnKeys(b + ".conv3", dim, 4 * dim, 1);
                } else {
                    const std::int64_t ws = c.tinyWindows[i];
                    add(b + ".attn.attention_biases", {c.tinyHeads[i], ws * ws});
                    norm(b + ".attn.norm", dim);
                    lin(b + ".attn.qkv", 3 * dim, dim);
                    lin(b + ".attn.proj", dim, dim);
                    norm(b + ".mlp.norm", dim);
                    lin(b + ".mlp.fc1", 4 * dim, dim);
                    lin(b + ".mlp.fc2", dim, 4 * dim);
                    convBnKeys(b + ".local_conv", dim, 1, 3);
                }
            }
            if (i + 1 < dims.size()) {
                const std::int64_t next = dims[i + 1];
                convBnKeys(p + ".downsample.conv1", next, dim, 1);
                convBnKeys(p + ".downsample.conv2", next, 1, 3);
                convBnKeys(p + ".downsample.conv3", next, next, 1);
            }
        }
        lastDim = dims.back();
        norm(e + "norm_head", lastDim);
        lin(e + "head", 1000, lastDim);  // the ImageNet head TinyViT keeps in its state_dict (unused)
    } else {
    add("image_encoder.pos_embed", {1, side, side, d});
    add("image_encoder.patch_embed.proj.weight", {d, 3, c.patchSize, c.patchSize});
    add("image_encoder.patch_embed.proj.bias", {d});
    for (int i = 0; i < c.depth; ++i) {
        const std::string p = "image_encoder.blocks." + std::to_string(i);
        const bool global = std::find(c.globalBlocks.begin(), c.globalBlocks.end(), i) != c.globalBlocks.end();
        const std::int64_t rel = global ? 2 * side - 1 : 2 * c.windowSize - 1;
        norm(p + ".norm1", d);
        add(p + ".attn.rel_pos_h", {rel, d / c.heads});
        add(p + ".attn.rel_pos_w", {rel, d / c.heads});
        lin(p + ".attn.qkv", 3 * d, d);
        lin(p + ".attn.proj", d, d);
        norm(p + ".norm2", d);
        lin(p + ".mlp.lin1", 4 * d, d);
        lin(p + ".mlp.lin2", d, 4 * d);
    }
    }
    add("image_encoder.neck.0.weight", {o, lastDim, 1, 1});
    norm("image_encoder.neck.1", o);
    add("image_encoder.neck.2.weight", {o, o, 3, 3});
    norm("image_encoder.neck.3", o);

    add("prompt_encoder.pe_layer.positional_encoding_gaussian_matrix", {2, o / 2});
    for (int i = 0; i < 4; ++i)
        add("prompt_encoder.point_embeddings." + std::to_string(i) + ".weight", {1, o});
    add("prompt_encoder.not_a_point_embed.weight", {1, o});
    const std::int64_t m = c.maskInChans;
    add("prompt_encoder.mask_downscaling.0.weight", {m / 4, 1, 2, 2});
    add("prompt_encoder.mask_downscaling.0.bias", {m / 4});
    norm("prompt_encoder.mask_downscaling.1", m / 4);
    add("prompt_encoder.mask_downscaling.3.weight", {m, m / 4, 2, 2});
    add("prompt_encoder.mask_downscaling.3.bias", {m});
    norm("prompt_encoder.mask_downscaling.4", m);
    add("prompt_encoder.mask_downscaling.6.weight", {o, m, 1, 1});
    add("prompt_encoder.mask_downscaling.6.bias", {o});
    add("prompt_encoder.no_mask_embed.weight", {1, o});

    auto attn = [&](const std::string& p, std::int64_t internal) {
        lin(p + ".q_proj", internal, o);
        lin(p + ".k_proj", internal, o);
        lin(p + ".v_proj", internal, o);
        lin(p + ".out_proj", o, internal);
    };
    for (int i = 0; i < c.decoderDepth; ++i) {
        const std::string p = "mask_decoder.transformer.layers." + std::to_string(i);
        attn(p + ".self_attn", o);
        norm(p + ".norm1", o);
        attn(p + ".cross_attn_token_to_image", o / 2);
        norm(p + ".norm2", o);
        lin(p + ".mlp.lin1", c.decoderMlpDim, o);
        lin(p + ".mlp.lin2", o, c.decoderMlpDim);
        norm(p + ".norm3", o);
        norm(p + ".norm4", o);
        attn(p + ".cross_attn_image_to_token", o / 2);
    }
    attn("mask_decoder.transformer.final_attn_token_to_image", o / 2);
    norm("mask_decoder.transformer.norm_final_attn", o);
    add("mask_decoder.iou_token.weight", {1, o});
    add("mask_decoder.mask_tokens.weight", {c.maskTokens, o});
    add("mask_decoder.output_upscaling.0.weight", {o, o / 4, 2, 2});
    add("mask_decoder.output_upscaling.0.bias", {o / 4});
    norm("mask_decoder.output_upscaling.1", o / 4);
    add("mask_decoder.output_upscaling.3.weight", {o / 4, o / 8, 2, 2});
    add("mask_decoder.output_upscaling.3.bias", {o / 8});
    for (int t = 0; t < c.maskTokens; ++t) {
        const std::string p = "mask_decoder.output_hypernetworks_mlps." + std::to_string(t) + ".layers.";
        lin(p + "0", o, o);
        lin(p + "1", o, o);
        lin(p + "2", o / 8, o);
    }
    lin("mask_decoder.iou_prediction_head.layers.0", c.iouHiddenDim, o);
    for (int i = 1; i + 1 < c.iouHeadDepth; ++i)
        lin("mask_decoder.iou_prediction_head.layers." + std::to_string(i), c.iouHiddenDim, c.iouHiddenDim);
    lin("mask_decoder.iou_prediction_head.layers." + std::to_string(c.iouHeadDepth - 1), c.maskTokens, c.iouHiddenDim);
    return k;
}

void checkKeys(const Weights& w, const Config& c)
{
    const KeyList want = expectedKeys(c);
    std::map<std::string, Shape> wanted(want.begin(), want.end());
    for (const auto& [key, shape] : want) {
        if (!w.has(key))
            throw CheckpointError(w.file() + ": key '" + key + "' " + shapeText(shape) + " is missing (a partial or " +
                                  "different checkpoint; inferred " + c.variant + ")");
        const Shape got = shapeOf(w.at(key));
        if (got != shape)
            throw CheckpointError(w.file() + ": key '" + key + "' has shape " + shapeText(got) + ", expected " +
                                  shapeText(shape) + " for " + c.variant);
    }
    for (const auto& [key, t] : w.all())
        if (!wanted.count(key))
            throw CheckpointError(w.file() + ": unexpected key '" + key + "' " + shapeText(shapeOf(t)) + " for " + c.variant);
}

}  // namespace camsight::ml::sam
