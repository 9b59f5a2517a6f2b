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

// ---- Prompt encoder -------------------------------------------------------------------------------------------------

// Random Fourier features of coordinates already scaled to [0, 1]: [sin, cos] of 2 pi (2c - 1) G.
torch::Tensor fourier(const Weights& w, const torch::Tensor& coords)
{
    torch::Tensor c = 2 * coords - 1;
    c = torch::matmul(c, w.at("prompt_encoder.pe_layer.positional_encoding_gaussian_matrix"));
    c = 2 * M_PI * c;
    return torch::cat({torch::sin(c), torch::cos(c)}, -1);
}

torch::Tensor coordsPe(const Weights& w, const Config& c, torch::Tensor coords)
{
    coords = coords.clone();
    coords.select(-1, 0).div_(double(c.imageSize));
    coords.select(-1, 1).div_(double(c.imageSize));
    return fourier(w, coords.to(torch::kFloat32));
}

torch::Tensor densePe(const Weights& w, std::int64_t h, std::int64_t wd)
{
    const torch::Tensor grid = torch::ones({h, wd});
    const torch::Tensor y = (grid.cumsum(0) - 0.5) / double(h);
    const torch::Tensor x = (grid.cumsum(1) - 0.5) / double(wd);
    return fourier(w, torch::stack({x, y}, -1)).permute({2, 0, 1}).unsqueeze(0);  // [1, C, h, w]
}

std::pair<torch::Tensor, torch::Tensor> encodePrompt(const Weights& w, const Config& c, const Prompt& p)
{
    const std::int64_t dim = c.outChans;
    std::vector<torch::Tensor> sparse;
    if (p.points.defined()) {
        torch::Tensor points = p.points.to(torch::kFloat32) + 0.5;
        torch::Tensor labels = p.labels.to(torch::kFloat32);
        if (!p.box.defined()) {  // a padding point stands in for the missing box
            points = torch::cat({points, torch::zeros({points.size(0), 1, 2})}, 1);
            labels = torch::cat({labels, -torch::ones({labels.size(0), 1})}, 1);
        }
        torch::Tensor e = coordsPe(w, c, points);
        const torch::Tensor neg1 = (labels == -1).unsqueeze(-1), l0 = (labels == 0).unsqueeze(-1), l1 = (labels == 1).unsqueeze(-1);
        e = torch::where(neg1, torch::zeros_like(e), e);
        e = e + neg1 * w.at("prompt_encoder.not_a_point_embed.weight");
        e = e + l0 * w.at("prompt_encoder.point_embeddings.0.weight");
        e = e + l1 * w.at("prompt_encoder.point_embeddings.1.weight");
        sparse.push_back(e);
    }
    if (p.box.defined()) {
        const torch::Tensor corners = (p.box.to(torch::kFloat32) + 0.5).reshape({-1, 2, 2});
        torch::Tensor e = coordsPe(w, c, corners);
        e.select(1, 0).add_(w.at("prompt_encoder.point_embeddings.2.weight")[0]);
        e.select(1, 1).add_(w.at("prompt_encoder.point_embeddings.3.weight")[0]);
        sparse.push_back(e);
    }
    const torch::Tensor sparseAll = sparse.empty() ? torch::empty({1, 0, dim}) : torch::cat(sparse, 1);
    torch::Tensor dense;
    if (p.maskInput.defined()) {
        const std::string m = "prompt_encoder.mask_downscaling.";
        torch::Tensor x = conv(w, m + "0", p.maskInput.to(torch::kFloat32), 2);
        x = geluExact(layerNorm2d(w, m + "1", x));
        x = conv(w, m + "3", x, 2);
        x = geluExact(layerNorm2d(w, m + "4", x));
        dense = conv(w, m + "6", x);
    } else {
        const std::int64_t side = c.imageSize / c.patchSize;
        dense = w.at("prompt_encoder.no_mask_embed.weight").reshape({1, -1, 1, 1}).expand({1, dim, side, side});
    }
    return {sparseAll, dense};
}

// ---- Mask decoder ---------------------------------------------------------------------------------------------------

torch::Tensor attention(const Weights& w, const std::string& p, const torch::Tensor& q, const torch::Tensor& k,
                        const torch::Tensor& v, int heads)
{
    auto split = [heads](const torch::Tensor& x) {
        return x.reshape({x.size(0), x.size(1), heads, x.size(2) / heads}).transpose(1, 2);
    };
    const torch::Tensor qh = split(linear(w, p + ".q_proj", q));
    const torch::Tensor kh = split(linear(w, p + ".k_proj", k));
    const torch::Tensor vh = split(linear(w, p + ".v_proj", v));
    torch::Tensor attn = torch::matmul(qh, kh.permute({0, 1, 3, 2})) / std::sqrt(double(qh.size(-1)));
    attn = torch::softmax(attn, -1);
    torch::Tensor out = torch::matmul(attn, vh).transpose(1, 2);
    out = out.reshape({out.size(0), out.size(1), -1});
    return linear(w, p + ".out_proj", out);
}

// Cross attention from the prompt tokens (q [B, T, C]) to the image tokens (k, v [Bk, N, C], Bk = 1 or B), without
// projecting the N = 4096 image tokens. Per head h with q_h = (q W_q^T + b_q)_h:
//   q_h k_h^T = (q_h W_k,h) x^T + q_h b_k,h, and the second term is the same for every key of a query, which softmax
//   ignores; attn_h (x W_v,h^T + b_v,h) = (attn_h x) W_v,h^T + b_v,h, since every row of attn sums to 1.
// So the products over the image tokens are [heads * T, C] x [C, N] and back (56 rows for 7 tokens and 8 heads)
// instead of one [N, C] x [C, C/2] projection each for keys and values. Same result up to rounding.
torch::Tensor tokenToImage(const Weights& w, const std::string& p, const torch::Tensor& q, const torch::Tensor& k,
                           const torch::Tensor& v, int heads)
{
    const std::int64_t b = q.size(0), t = q.size(1), ch = q.size(2);
    const torch::Tensor& wk = w.at(p + ".k_proj.weight");
    const torch::Tensor& wv = w.at(p + ".v_proj.weight");
    const std::int64_t inner = wk.size(0), d = inner / heads;
    const torch::Tensor qp = (linear(w, p + ".q_proj", q) * (1.0 / std::sqrt(double(d)))).view({b, t, heads, d}).transpose(1, 2);
    const torch::Tensor m = torch::matmul(qp, wk.view({heads, d, ch})).reshape({b, heads * t, ch});  // [B, H*T, C]
    torch::Tensor z;  // attn x: [B, H*T, C]
    if (k.size(0) == 1) {  // one image for every prompt: one product over all B * H * T rows
        const torch::Tensor a = torch::softmax(parallelMm(m.view({b * heads * t, ch}), k[0].t()), -1);
        z = parallelMm(a, v[0]).view({b, heads * t, ch});
    } else {
        z = torch::bmm(torch::softmax(torch::bmm(m, k.transpose(1, 2)), -1), v);
    }
    const torch::Tensor o = torch::matmul(z.view({b, heads, t, ch}), wv.view({heads, d, ch}).transpose(1, 2)) +
                            w.at(p + ".v_proj.bias").view({heads, 1, d});  // [B, H, T, d]
    return linear(w, p + ".out_proj", o.transpose(1, 2).reshape({b, t, inner}));
}

// Cross attention from the image tokens (q [Bk, N, C]) to the prompt tokens (k, v [B, T, C]), without projecting the
// image tokens either: with k_h = (k W_k^T + b_k)_h and v_h = (v W_v^T + b_v)_h,
//   (x W_q,h^T + b_q,h) k_h^T = x (W_q,h^T k_h^T) + b_q,h k_h^T   ([N, C] x [C, T] per head), and
//   the output projection of attn_h v_h is attn_h (v_h W_o,h^T) ([N, T] x [T, C] per head, summed over heads),
// so both products over the image run with heads * T = 56 rows instead of C / 2 = 128 columns. The scores are kept
// as [B, H, T, N]: the softmax over a head's T tokens is then a handful of passes along N, not N * H softmaxes of 7.
// Returns residual + the attention. Same result up to rounding.
torch::Tensor imageToToken(const Weights& w, const std::string& p, const torch::Tensor& q, const torch::Tensor& k,
                           const torch::Tensor& v, int heads, const torch::Tensor& residual)
{
    const std::int64_t b = k.size(0), t = k.size(1), ch = k.size(2), n = q.size(1);
    const torch::Tensor& wq = w.at(p + ".q_proj.weight");
    const torch::Tensor& wo = w.at(p + ".out_proj.weight");
    const std::int64_t inner = wq.size(0), d = inner / heads;
    const torch::Tensor kp = (linear(w, p + ".k_proj", k) * (1.0 / std::sqrt(double(d)))).view({b, t, heads, d}).transpose(1, 2);  // [B, H, T, d]
    const torch::Tensor g = torch::matmul(kp, wq.view({heads, d, ch})).reshape({b, heads * t, ch});  // [B, H*T, C]
    const torch::Tensor g0 = torch::matmul(kp, w.at(p + ".q_proj.bias").view({heads, d, 1})).reshape({b, heads * t, 1});
    const torch::Tensor vp = linear(w, p + ".v_proj", v).view({b, t, heads, d}).transpose(1, 2);  // [B, H, T, d]
    const torch::Tensor pv = torch::matmul(vp, wo.view({ch, heads, d}).permute({1, 2, 0})).reshape({b, heads * t, ch});
    torch::Tensor s;  // [B, H*T, N]
    if (q.size(0) == 1)  // one image for every prompt: one product over all B * H * T rows
        s = parallelMm(g.view({b * heads * t, ch}), q[0].t(), g0.view({b * heads * t, 1})).view({b, heads * t, n});
    else
        s = torch::baddbmm(g0, g, q.transpose(1, 2));
    s = s.view({b, heads, t, n});
    s = torch::exp(s - std::get<0>(s.max(2, true)));
    s = (s / s.sum(2, true)).view({b, heads * t, n});
    // The residual (the image tokens) goes into the product's accumulator, and the output bias into pv: each head's
    // attention row sums to 1, so adding bias / heads to every row of pv adds the bias once.
    const torch::Tensor& bias = w.at(p + ".out_proj.bias");
    if (b == 1 && residual.size(0) == 1)
        return parallelMm(s[0].t(), pv[0] + bias / double(heads), residual[0]).unsqueeze(0);
    return torch::baddbmm(residual + bias, s.transpose(1, 2), pv);
}

torch::Tensor mlpRelu(const Weights& w, const std::string& p, const torch::Tensor& x, int layers)
{
    torch::Tensor y = x;
    for (int i = 0; i < layers; ++i) {
        y = linear(w, p + ".layers." + std::to_string(i), y);
        if (i + 1 < layers)
            y = torch::relu(y);
    }
    return y;
}

}  // namespace

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

torch::Tensor densePositionalEncoding(const Weights& w, const Config& c)
{
    c10::InferenceMode inference;
    const std::int64_t side = c.imageSize / c.patchSize;
    return densePe(w, side, side);
}

std::pair<torch::Tensor, torch::Tensor> decode(const Weights& w, const Config& c, const torch::Tensor& embedding,
                                               const torch::Tensor& imagePe, const Prompt& prompt, bool multimask)
{
    const auto [sparse, dense] = encodePrompt(w, c, prompt);
    const int heads = c.decoderHeads;
    // Tokens: IoU token, mask tokens, prompt tokens.
    // A batch of B prompts shares one image: the image side stays at batch 1 until the first layer mixes it with the
    // prompts (broadcasting), so its first projections are computed once, not B times (the reference repeats them).
    const std::int64_t batch = sparse.size(0);
    const torch::Tensor outputTokens =
        torch::cat({w.at("mask_decoder.iou_token.weight"), w.at("mask_decoder.mask_tokens.weight")}, 0)
            .unsqueeze(0)
            .expand({batch, -1, -1});
    const torch::Tensor tokens = torch::cat({outputTokens, sparse.to(outputTokens.dtype())}, 1);
    const std::int64_t h = embedding.size(2), wd = embedding.size(3);
    // Two-way transformer. Image tokens are kept contiguous [B, HW, C]: the element-wise steps over them (positional
    // adds, residuals) are then plain passes instead of strided ones. The first one writes them so.
    const auto tokensOf = [](const torch::Tensor& x) { return x.flatten(2).transpose(1, 2); };
    torch::Tensor keys = torch::empty({std::max(embedding.size(0), dense.size(0)), h * wd, embedding.size(1)});
    torch::add_out(keys, tokensOf(embedding), tokensOf(dense));
    const torch::Tensor keyPe = imagePe.dim() == 3 ? imagePe : imagePe.flatten(2).permute({0, 2, 1}).contiguous();
    torch::Tensor queries = tokens;
    for (int i = 0; i < c.decoderDepth; ++i) {
        const std::string p = "mask_decoder.transformer.layers." + std::to_string(i);
        if (i == 0) {
            queries = attention(w, p + ".self_attn", queries, queries, queries, heads);
        } else {
            const torch::Tensor q = queries + tokens;
            queries = queries + attention(w, p + ".self_attn", q, q, queries, heads);
        }
        queries = layerNorm(w, p + ".norm1", queries, 1e-5);
        torch::Tensor q = queries + tokens, k = keys + keyPe;
        queries = layerNorm(w, p + ".norm2", queries + tokenToImage(w, p + ".cross_attn_token_to_image", q, k, keys, heads), 1e-5);
        const torch::Tensor m = linear(w, p + ".mlp.lin2", torch::relu(linear(w, p + ".mlp.lin1", queries)));
        queries = layerNorm(w, p + ".norm3", queries + m, 1e-5);
        q = queries + tokens;
        keys = layerNorm(w, p + ".norm4", imageToToken(w, p + ".cross_attn_image_to_token", k, q, queries, heads, keys), 1e-5);
    }
    {
        const torch::Tensor q = queries + tokens, k = keys + keyPe;
        queries = queries + tokenToImage(w, "mask_decoder.transformer.final_attn_token_to_image", q, k, keys, heads);
        queries = layerNorm(w, "mask_decoder.transformer.norm_final_attn", queries, 1e-5);
    }
    const torch::Tensor iouTokenOut = queries.select(1, 0);
    // Only the mask tokens whose masks are returned: 1..3 with multimask, else 0.
    const int first = multimask ? 1 : 0, count = multimask ? c.maskTokens - 1 : 1;
    // Upscale the image tokens and apply each mask token's hypernetwork. A 2x2 transposed convolution of stride 2 is
    // one matrix product per pixel (C_in -> 2 x 2 x C_out), so both run as products on channels-last tokens, and the
    // 2x2 sub-pixels stay beside their pixel ([B, N, 4, C_out]) until the hypernetwork has reduced the channels to the
    // K masks: LayerNorm2d and GELU act per pixel, so only the K-channel result is rearranged into the 256 x 256 grid.
    const auto upscale = [](const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias) {
        const std::int64_t cin = weight.size(0), cout = weight.size(1);
        const torch::Tensor wt = weight.permute({0, 2, 3, 1}).reshape({cin, 4 * cout});  // [C_in, (ky, kx, C_out)]
        const torch::Tensor flat = x.reshape({-1, cin});
        return parallelMm(flat, wt, bias.repeat({4})).view({-1, 4, cout});  // [pixels, 4, C_out]
    };
    const std::int64_t batch2 = keys.size(0);
    torch::Tensor up = upscale(keys, w.at("mask_decoder.output_upscaling.0.weight"), w.at("mask_decoder.output_upscaling.0.bias"));
    // LayerNorm2d over the channels (eps 1e-6).
    up = geluExact(torch::layer_norm(up, {up.size(-1)}, w.at("mask_decoder.output_upscaling.1.weight"),
                                     w.at("mask_decoder.output_upscaling.1.bias"), 1e-6));
    up = geluExact(upscale(up, w.at("mask_decoder.output_upscaling.3.weight"), w.at("mask_decoder.output_upscaling.3.bias")));
    std::vector<torch::Tensor> hyper;
    for (int t = first; t < first + count; ++t)
        hyper.push_back(mlpRelu(w, "mask_decoder.output_hypernetworks_mlps." + std::to_string(t), queries.select(1, 1 + t), 3));
    const torch::Tensor hyperIn = torch::stack(hyper, 2);  // [B, C/8, K]
    // [B, (i, j, ky1, kx1, ky2, kx2), K] -> [B, K, (i, ky1, ky2), (j, kx1, kx2)]
    const torch::Tensor m = batch2 == 1 ? parallelMm(up.view({-1, up.size(-1)}), hyperIn[0]).unsqueeze(0)
                                        : torch::bmm(up.view({batch2, -1, up.size(-1)}), hyperIn.expand({batch2, -1, -1}));
    const torch::Tensor masks = m.view({batch2, h, wd, 2, 2, 2, 2, count})
                                    .permute({0, 7, 1, 3, 5, 2, 4, 6})
                                    .reshape({batch2, count, 4 * h, 4 * wd});
    const torch::Tensor iou = mlpRelu(w, "mask_decoder.iou_prediction_head", iouTokenOut, c.iouHeadDepth);
    return {masks, iou.narrow(1, first, count)};
}

}  // namespace camsight::ml::sam
