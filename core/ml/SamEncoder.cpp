// The Segment Anything image encoders: SAM's ViT (vit_b/l/h, MedSAM) and MobileSAM's TinyViT (vit_t).

// Local
#include "core/ml/internal/Kernels.hpp"
#include "core/ml/internal/Parallel.hpp"
#include "core/ml/internal/SamLayers.hpp"
#include "core/ml/internal/SamNet.hpp"

// Std
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

namespace camsight::ml::sam {
namespace {

// ---- ViT image encoder ----------------------------------------------------------------------------------------------

// rel_pos rows for every (query, key) pair along one axis of `size` positions: table[i - j + size - 1].
torch::Tensor relativePositions(const torch::Tensor& table, std::int64_t size)
{
    const torch::Tensor q = torch::arange(size).unsqueeze(1);
    const torch::Tensor k = torch::arange(size).unsqueeze(0);
    return table.index({(q - k + (size - 1)).to(torch::kLong)});  // [size, size, head_dim]
}

// softmax(scale q k^T + relH[., kh] + relW[., kw]) v for every batch-head over all N = h * w tokens, a block of whole
// image rows (512 tokens for vit_b) at a time: the block's logits ([rows, N], 8 MB) are made, biased with the
// decomposed relative positions (relH[t, kh] = q_t . Rh[row(t), kh], relW[t, kw] = q_t . Rw[col(t), kw]) and turned
// into softmax weights by one kernel (relativeSoftmaxRows: two passes over the block while it is in cache), and the
// product with v is normalised afterwards (rows x head dim values instead of rows x N weights). [B*heads, N, N]
// (805 MB for a global block of vit_b) never exists. Each block is one task (parallelTasks). q, k, v: [B, N, heads, hd]
// views into the qkv projection (strided rows are fine for BLAS, so nothing is copied out); relH: [B*heads, N, h],
// relW: [B*heads, N, w]. Returns [B, N, heads * hd].
torch::Tensor blockedAttention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, double scale,
                               const torch::Tensor& relH, const torch::Tensor& relW)
{
    const std::int64_t b = q.size(0), n = q.size(1), heads = q.size(2), hd = v.size(3), h = relH.size(2), wd = relW.size(2);
    const std::int64_t imageRows = std::max<std::int64_t>(1, 512 / wd), rows = imageRows * wd;
    const std::int64_t perHead = (h + imageRows - 1) / imageRows;
    const torch::Tensor relHc = relH.contiguous(), relWc = relW.contiguous();
    torch::Tensor out = torch::empty({b, n, heads, hd}, q.options());
    parallelTasks(b * heads * perHead, [&](std::int64_t first, std::int64_t last) {
        torch::Tensor logits = torch::empty({rows, n}, q.options());
        torch::Tensor norm = torch::empty({rows, 1}, q.options());
        for (std::int64_t t = first; t < last; ++t) {
            const std::int64_t bh = t / perHead, bi = bh / heads, head = bh % heads;
            const std::int64_t qh0 = (t % perHead) * imageRows, kr = std::min(imageRows, h - qh0), m = kr * wd;
            torch::Tensor s = logits.narrow(0, 0, m);
            at::addmm_out(s, s, q[bi].select(1, head).narrow(0, qh0 * wd, m), k[bi].select(1, head).t(), 0.0, scale);
            relativeSoftmaxRows(s.data_ptr<float>(), m, h, wd, relHc[bh].data_ptr<float>() + qh0 * wd * h,
                                relWc[bh].data_ptr<float>() + qh0 * wd * wd, norm.data_ptr<float>());
            torch::Tensor o = out[bi].select(1, head).narrow(0, qh0 * wd, m);
            at::mm_out(o, s, v[bi].select(1, head));
            o.mul_(norm.narrow(0, 0, m));
        }
    });
    return out.view({b, n, heads * hd});
}

// x: [B, H, W, C] -> residual + attention over all H x W tokens with decomposed relative positions.
torch::Tensor vitAttention(const Weights& w, const std::string& p, const torch::Tensor& x, int heads,
                           const torch::Tensor& residual)
{
    const std::int64_t b = x.size(0), h = x.size(1), wd = x.size(2);
    const torch::Tensor qkv = linear(w, p + ".qkv", x).view({b, h * wd, 3, heads, -1});  // [B, N, 3, heads, hd]
    const torch::Tensor q = qkv.select(2, 0), k = qkv.select(2, 1), v = qkv.select(2, 2);  // [B, N, heads, hd]
    // Decomposed relative positions with the unscaled q, for the whole image at once (one batched product per axis
    // rather than thousands of tiny ones inside the tasks): relH[., t, kh], relW[., t, kw].
    const std::int64_t hd = q.size(-1), bh = b * heads, n = h * wd;
    const torch::Tensor rq = q.permute({0, 2, 1, 3}).reshape({bh, h, wd, hd});
    const torch::Tensor relH = torch::einsum("bhwc,hkc->bhwk", {rq, relativePositions(w.at(p + ".rel_pos_h"), h)}).reshape({bh, n, h});
    const torch::Tensor relW = torch::einsum("bhwc,wkc->bhwk", {rq, relativePositions(w.at(p + ".rel_pos_w"), wd)}).reshape({bh, n, wd});
    const torch::Tensor out = blockedAttention(q, k, v, 1.0 / std::sqrt(double(hd)), relH, relW);
    return linearAdd(w, p + ".proj", out.view({b, h, wd, -1}), residual);
}

// The grid tokens of the ws x ws window whose top-left corner is (y0, x0) in image bi of an h x w grid, in window
// order (row by row): their indices in the [B, h, w] token map, -1 where the window overhangs the grid (upstream pads
// there). Both encoders' window attentions read q/k/v and write outputs through these.
void windowTokens(std::int64_t bi, std::int64_t h, std::int64_t wd, std::int64_t ws, std::int64_t y0, std::int64_t x0,
                  std::vector<std::int64_t>& tokens)
{
    for (std::int64_t r = 0; r < ws; ++r)
        for (std::int64_t c = 0; c < ws; ++c)
            tokens[std::size_t(r * ws + c)] = y0 + r < h && x0 + c < wd ? (bi * h + y0 + r) * wd + x0 + c : -1;
}

// Windowed attention straight from the token grid, without the padded, partitioned copy upstream makes (and without
// projecting its padding): x is norm1's output [B, H, W, C]; the grid is cut into ws x ws windows from the top left,
// and the windows that overhang the bottom or right edge get upstream's zero padding, whose q/k/v are exactly the qkv
// projection's bias. Each (window, head) is one task on the intra-op threads: its query rows' bias (the decomposed
// relative positions, relH[kh] + relW[kw]) is laid out for the hand-written attention kernel, which reads q/k/v
// through pointers into the projection and writes only the real tokens (upstream crops the padded ones). With a
// dozen LibTorch calls per window and head this took 2-3 % more of vit_b's encoder. Returns residual + proj(attention).
torch::Tensor windowAttention(const Weights& w, const std::string& p, const torch::Tensor& x, int heads, std::int64_t ws,
                              const torch::Tensor& residual)
{
    const std::int64_t b = x.size(0), h = x.size(1), wd = x.size(2), ch = x.size(3), hd = ch / heads, n = ws * ws;
    const std::int64_t np = paddedTokens(n);
    const torch::Tensor qkv = linear(w, p + ".qkv", x).contiguous();  // [B, H, W, 3 C], C = heads hd
    const torch::Tensor padding = w.at(p + ".qkv.bias").contiguous();  // [3 C]: a padded token's q, k, v
    // Decomposed relative positions for every token of the grid at once, by its row / column inside its window:
    // relH[b, y, x, head, kh] = q . Rh[y mod ws, kh], relW[..., kw] = q . Rw[x mod ws, kw] (one batched product per
    // axis instead of two tiny ones per window and head).
    const torch::Tensor q = qkv.view({b, h, wd, 3, heads, hd}).select(3, 0);  // [B, H, W, heads, hd], unscaled
    const torch::Tensor rowInWindow = torch::arange(h).remainder(ws), colInWindow = torch::arange(wd).remainder(ws);
    const torch::Tensor relH = torch::einsum(
        "byxnc,ykc->byxnk", {q, relativePositions(w.at(p + ".rel_pos_h"), ws).index_select(0, rowInWindow)}).contiguous();
    const torch::Tensor relW = torch::einsum(
        "byxnc,xkc->byxnk", {q, relativePositions(w.at(p + ".rel_pos_w"), ws).index_select(0, colInWindow)}).contiguous();
    const float scale = float(1.0 / std::sqrt(double(hd)));
    const std::int64_t rowsOfWindows = (h + ws - 1) / ws, colsOfWindows = (wd + ws - 1) / ws;
    torch::Tensor out = torch::empty({b, h, wd, ch}, x.options());
    const float* qkvData = qkv.data_ptr<float>();
    const float* paddingData = padding.data_ptr<float>();
    const float* relHData = relH.data_ptr<float>();
    const float* relWData = relW.data_ptr<float>();
    float* outData = out.data_ptr<float>();
    parallelTasks(b * rowsOfWindows * colsOfWindows * heads, [&](std::int64_t first, std::int64_t last) {
        std::vector<const float*> rows(std::size_t(n), nullptr);
        std::vector<float*> outs(std::size_t(n), nullptr);
        std::vector<float> bias(std::size_t(n * np), -std::numeric_limits<float>::infinity());
        std::vector<float> scratch(std::size_t(windowAttentionScratch(n, hd)));
        std::vector<std::int64_t> tokens(static_cast<std::size_t>(n));
        for (std::int64_t t = first; t < last; ++t) {
            const std::int64_t head = t % heads, wi = t / heads;
            const std::int64_t bi = wi / (rowsOfWindows * colsOfWindows);
            const std::int64_t y0 = wi / colsOfWindows % rowsOfWindows * ws, x0 = wi % colsOfWindows * ws;
            windowTokens(bi, h, wd, ws, y0, x0, tokens);
            for (std::size_t i = 0; i < tokens.size(); ++i) {
                const std::int64_t token = tokens[i];
                if (token < 0) {
                    rows[i] = paddingData + head * hd;  // upstream's zero padding, projected: the qkv bias
                    outs[i] = nullptr;                  // cropped upstream: not computed
                    continue;
                }
                rows[i] = qkvData + token * 3 * ch + head * hd;
                outs[i] = outData + token * ch + head * hd;
                // the query's bias over the window's keys: relH[kh] + relW[kw]
                const float* rh = relHData + (token * heads + head) * ws;
                const float* rw = relWData + (token * heads + head) * ws;
                float* row = bias.data() + i * std::size_t(np);
                for (std::int64_t kh = 0; kh < ws; ++kh)
                    for (std::int64_t kw = 0; kw < ws; ++kw)
                        row[kh * ws + kw] = rh[kh] + rw[kw];
            }
            ml::windowAttention(rows.data(), n, hd, ch, 2 * ch, scale, bias.data(), outs.data(), scratch.data());
        }
    });
    return linearAdd(w, p + ".proj", out, residual);
}

torch::Tensor vitBlock(const Weights& w, const Config& c, int i, const torch::Tensor& x)
{
    const std::string p = "image_encoder.blocks." + std::to_string(i);
    const bool global = std::find(c.globalBlocks.begin(), c.globalBlocks.end(), i) != c.globalBlocks.end();
    const torch::Tensor y = layerNorm(w, p + ".norm1", x, 1e-6);
    const torch::Tensor out = global ? vitAttention(w, p + ".attn", y, c.heads, x)
                                     : windowAttention(w, p + ".attn", y, c.heads, c.windowSize, x);
    return linearAdd(w, p + ".mlp.lin2", geluExact(linear(w, p + ".mlp.lin1", layerNorm(w, p + ".norm2", out, 1e-6))), out);
}

// The neck on channels-last tokens x [B, H, W, C] -> the embedding [B, 256, H, W]. Upstream's LayerNorm2d normalises
// over the channels of an NCHW map, which on tokens is a plain LayerNorm over the last axis (one pass instead of the
// seven strided reductions and element-wise passes of mean, subtract, square, mean, sqrt, divide); the 1x1
// convolution is a product over the channels and the 3x3 one runs channels-last (several times faster in LibTorch).
torch::Tensor neck(const Weights& w, const torch::Tensor& x)
{
    const std::string p = "image_encoder.neck.";
    const torch::Tensor& w0 = w.at(p + "0.weight");
    torch::Tensor y = parallelLinear(x.reshape({-1, x.size(3)}), w0.flatten(1), {}).view({x.size(0), x.size(1), x.size(2), w0.size(0)});
    y = layerNorm(w, p + "1", y, 1e-6);
    y = torch::conv2d(y.permute({0, 3, 1, 2}), w.at(p + "2.weight").contiguous(at::MemoryFormat::ChannelsLast), {}, 1, 1);
    y = layerNorm(w, p + "3", y.permute({0, 2, 3, 1}), 1e-6);
    return y.permute({0, 3, 1, 2}).contiguous();
}

// ---- TinyViT image encoder (MobileSAM vit_t) ------------------------------------------------------------------------

// A convolution followed by BatchNorm in eval mode (running statistics, eps 1e-5), folded into one: scale
// s = gamma / sqrt(var + eps) per output channel, weights W s, bias beta - mean s.
struct Folded {
    torch::Tensor weight, bias;
};

Folded foldConvBn(const Weights& w, const std::string& p)
{
    const torch::Tensor s = w.at(p + ".bn.weight") / torch::sqrt(w.at(p + ".bn.running_var") + 1e-5);
    return {w.at(p + ".c.weight") * s.view({-1, 1, 1, 1}), w.at(p + ".bn.bias") - w.at(p + ".bn.running_mean") * s};
}

// A folded convolution with its output channels last, as the channels-last kernels read it: a 1x1 convolution
// [C', C, 1, 1] -> [C, C'] (the right-hand side of a product over pixels), a depthwise 3x3 one [C, 1, 3, 3] ->
// [3, 3, C] (depthwise3x3's kernel).
Folded channelsLast(const Weights& w, const std::string& p)
{
    const Folded f = foldConvBn(w, p);
    return {f.weight.flatten(1).t().contiguous(), f.bias.contiguous()};
}

// TinyViT's convolution chains on a channels-last map x [B, H, W, C]: expand (1x1, GELU), depthwise 3x3 with stride
// 1 or 2 (GELU), project (1x1); for MBConv (`residual`) then + x and GELU. Returns [B, Ho, Wo, C'].
// Upstream runs each step over the whole map: in stage 0 every step is a pass over a 64 MB [256, 256, 256] map (and
// LibTorch's depthwise convolution on NCHW maps runs at a few GFLOP/s). Here the output is made a few rows at a
// time, each thread down its own contiguous run of rows: the expansion of the input rows the band needs (rows the
// previous band already expanded are kept, so only a thread's first band recomputes its one-row halo), its GELU,
// the depthwise convolution and the projection all work on about 2 MB that stay in the core's cache.
torch::Tensor convChain(const torch::Tensor& x, const Folded& expand, const Folded& dw, const Folded& project, int stride,
                        bool residual)
{
    const std::int64_t b = x.size(0), h = x.size(1), wd = x.size(2), c = x.size(3);
    const std::int64_t hidden = expand.weight.size(1), cout = project.weight.size(1);
    const std::int64_t ho = (h - 1) / stride + 1, wo = (wd - 1) / stride + 1;
    const std::int64_t bandRows = std::max<std::int64_t>(1, 512 / wo), bands = (ho + bandRows - 1) / bandRows;
    const torch::Tensor input = x.contiguous();
    torch::Tensor out = torch::empty({b, ho, wo, cout}, x.options());
    parallelTasks(b * bands, [&](std::int64_t first, std::int64_t last) {
        const std::int64_t bufferRows = (bandRows - 1) * stride + 3;
        torch::Tensor expanded = torch::empty({bufferRows * wd, hidden}, x.options());
        torch::Tensor middle = torch::empty({bandRows * wo, hidden}, x.options());
        float* buffer = expanded.data_ptr<float>();
        const std::int64_t rowFloats = wd * hidden;
        std::int64_t haveImage = -1, haveBegin = 0, haveEnd = 0;  // expanded input rows [haveBegin, haveEnd) in the buffer
        for (std::int64_t t = first; t < last; ++t) {
            const std::int64_t bi = t / bands, o0 = t % bands * bandRows, on = std::min(bandRows, ho - o0);
            const std::int64_t i0 = std::max<std::int64_t>(0, o0 * stride - 1);
            const std::int64_t i1 = std::min(h, (o0 + on - 1) * stride + 2);
            std::int64_t kept = 0;
            if (haveImage == bi && i0 >= haveBegin && i0 < haveEnd) {
                kept = haveEnd - i0;
                std::memmove(buffer, buffer + (i0 - haveBegin) * rowFloats, std::size_t(kept * rowFloats) * sizeof(float));
            }
            if (i1 > i0 + kept) {
                torch::Tensor e = expanded.narrow(0, kept * wd, (i1 - i0 - kept) * wd);
                at::addmm_out(e, expand.bias, input[bi].narrow(0, i0 + kept, i1 - i0 - kept).view({-1, c}), expand.weight);
                geluInPlace(e.data_ptr<float>(), e.numel());
            }
            haveImage = bi;
            haveBegin = i0;
            haveEnd = i1;
            torch::Tensor m = middle.narrow(0, 0, on * wo);
            depthwise3x3(buffer, i0, h, wd, hidden, dw.weight.data_ptr<float>(), dw.bias.data_ptr<float>(), stride, o0, on,
                         m.data_ptr<float>());
            geluInPlace(m.data_ptr<float>(), m.numel());
            torch::Tensor o = out[bi].narrow(0, o0, on).view({-1, cout});
            if (residual) {
                at::add_out(o, input[bi].narrow(0, o0, on).view({-1, c}), project.bias);
                o.addmm_(m, project.weight);
                geluInPlace(o.data_ptr<float>(), o.numel());
            } else {
                at::addmm_out(o, project.bias, m, project.weight);
            }
        }
    });
    return out;
}

// PatchMerging on a channels-last map [B, H, W, C] -> tokens [B, Ho * Wo, C']; `lastStride1`: the merging that feeds
// the last stage keeps the size.
torch::Tensor patchMerging(const Weights& w, const std::string& p, const torch::Tensor& x, bool lastStride1)
{
    const torch::Tensor y = convChain(x, channelsLast(w, p + ".conv1"), channelsLast(w, p + ".conv2"),
                                      channelsLast(w, p + ".conv3"), lastStride1 ? 1 : 2, false);
    return y.flatten(1, 2);
}

// linear(LayerNorm(x)) over tokens x [..., C] (TinyViT's eps 1e-5), 512 tokens per task: each block is normalised
// into a small buffer and multiplied while it is in cache (one pass over the token map fewer than LayerNorm, then a
// product that reads the normalised map back).
torch::Tensor normLinear(const Weights& w, const std::string& norm, const std::string& lin, const torch::Tensor& x)
{
    const std::int64_t c = x.size(-1), m = x.numel() / c, rowsPerTask = 512, tasks = (m + rowsPerTask - 1) / rowsPerTask;
    const torch::Tensor input = x.reshape({-1, c}).contiguous();
    const torch::Tensor& normWeight = w.at(norm + ".weight");
    const torch::Tensor& normBias = w.at(norm + ".bias");
    const torch::Tensor weight = w.at(lin + ".weight").t();
    const torch::Tensor& bias = w.at(lin + ".bias");
    torch::Tensor out = torch::empty({m, weight.size(1)}, input.options());
    parallelTasks(tasks, [&](std::int64_t first, std::int64_t last) {
        for (std::int64_t t = first; t < last; ++t) {
            const std::int64_t r0 = t * rowsPerTask, n = std::min(rowsPerTask, m - r0);
            torch::Tensor o = out.narrow(0, r0, n);
            at::addmm_out(o, bias, torch::layer_norm(input.narrow(0, r0, n), {c}, normWeight, normBias, 1e-5), weight);
        }
    });
    std::vector<std::int64_t> shape = x.sizes().vec();
    shape.back() = weight.size(1);
    return out.view(shape);
}

// TinyViT's window attention with learned per-offset biases, straight from the token grid: x [B, res, res, C].
// Upstream pads the grid with zeros before the attention's LayerNorm, so a padded token's q/k/v are the qkv
// projection of LayerNorm(0) = of its bias: one constant row per head, made once. Each window is one task on the
// intra-op threads; every head of it runs the hand-written kernel (windowAttention) on pointers into the qkv
// projection, so nothing is gathered or padded, and the padded tokens' own outputs, which upstream crops, are not
// computed. (With LibTorch calls per window and head, or batched per row of windows, the small products' call
// overhead was most of the time: 29 ms of a 74 ms block.) Returns residual + proj(attention) as [B, res * res, C].
torch::Tensor tinyWindowAttention(const Weights& w, const std::string& p, const torch::Tensor& x, int heads,
                                  std::int64_t ws, const torch::Tensor& residual)
{
    const std::int64_t b = x.size(0), res = x.size(1), c = x.size(3), kd = c / heads, n = ws * ws, np = paddedTokens(n);
    const std::int64_t windows = (res + ws - 1) / ws;
    const torch::Tensor qkv = normLinear(w, p + ".norm", p + ".qkv", x);  // [B, res, res, heads * 3 kd]
    const torch::Tensor padding = linear(w, p + ".qkv", w.at(p + ".norm.bias")).contiguous();     // [heads * 3 kd]
    // bias[h, i, j] = attention_biases[h, |dy| * ws + |dx|] for tokens i, j of a window; -infinity past n.
    const torch::Tensor pos = torch::arange(ws * ws);
    const torch::Tensor py = pos.div(ws, "floor"), px = pos.remainder(ws);
    const torch::Tensor idx = ((py.unsqueeze(1) - py.unsqueeze(0)).abs() * ws + (px.unsqueeze(1) - px.unsqueeze(0)).abs());
    torch::Tensor bias = torch::full({heads, n, np}, -std::numeric_limits<float>::infinity(), x.options());
    bias.narrow(2, 0, n).copy_(w.at(p + ".attention_biases").index({torch::indexing::Slice(), idx}));
    const float scale = float(1.0 / std::sqrt(double(kd)));
    torch::Tensor out = torch::empty({b, res, res, heads * kd}, x.options());
    const float* qkvData = qkv.data_ptr<float>();
    const float* paddingData = padding.data_ptr<float>();
    const float* biasData = bias.data_ptr<float>();
    float* outData = out.data_ptr<float>();
    parallelTasks(b * windows * windows, [&](std::int64_t first, std::int64_t last) {
        std::vector<const float*> rows(std::size_t(n), nullptr);
        std::vector<float*> outs(std::size_t(n), nullptr);
        std::vector<float> scratch(std::size_t(windowAttentionScratch(n, kd)));
        std::vector<std::int64_t> tokens(static_cast<std::size_t>(n));
        for (std::int64_t t = first; t < last; ++t) {
            const std::int64_t bi = t / (windows * windows), wy = t / windows % windows * ws, wx = t % windows * ws;
            windowTokens(bi, res, res, ws, wy, wx, tokens);
            for (std::int64_t head = 0; head < heads; ++head) {
                for (std::size_t j = 0; j < tokens.size(); ++j) {
                    const std::int64_t token = tokens[j];
                    rows[j] = token < 0 ? paddingData + head * 3 * kd : qkvData + (token * heads + head) * 3 * kd;
                    outs[j] = token < 0 ? nullptr : outData + token * heads * kd + head * kd;
                }
                ml::windowAttention(rows.data(), n, kd, kd, 2 * kd, scale, biasData + head * n * np, outs.data(),
                                    scratch.data());
            }
        }
    });
    return linearAdd(w, p + ".proj", out.view({b, res * res, c}), residual);
}

// Depthwise 3x3 convolution (stride 1) on tokens [B, res * res, C], by rows of the grid on the intra-op threads.
torch::Tensor depthwiseTokens(const Folded& f, const torch::Tensor& x, std::int64_t res)
{
    const std::int64_t b = x.size(0), c = x.size(2), rowsPerTask = 8, tasks = (res + rowsPerTask - 1) / rowsPerTask;
    const torch::Tensor input = x.contiguous();
    torch::Tensor out = torch::empty_like(input);
    parallelTasks(b * tasks, [&](std::int64_t first, std::int64_t last) {
        for (std::int64_t t = first; t < last; ++t) {
            const std::int64_t bi = t / tasks, r0 = t % tasks * rowsPerTask, rows = std::min(rowsPerTask, res - r0);
            depthwise3x3(input[bi].data_ptr<float>(), 0, res, res, c, f.weight.data_ptr<float>(), f.bias.data_ptr<float>(), 1,
                         r0, rows, out[bi].data_ptr<float>() + r0 * res * c);
        }
    });
    return out;
}

// x + fc2(GELU(fc1(LayerNorm(x)))) over tokens x [B, L, C], 512 tokens per task: the hidden activations (4 C wide)
// are made, activated and consumed while they are in cache instead of passing over a 33 MB map (stage 1) three times;
// TinyViT's products are small enough (at most 320 x 1280) that each task's own copy of the weights costs little.
torch::Tensor tinyMlp(const Weights& w, const std::string& p, const torch::Tensor& x)
{
    const std::int64_t c = x.size(-1), m = x.numel() / c, rowsPerTask = 512, tasks = (m + rowsPerTask - 1) / rowsPerTask;
    const torch::Tensor input = x.reshape({-1, c}).contiguous();
    const torch::Tensor& normWeight = w.at(p + ".norm.weight");
    const torch::Tensor& normBias = w.at(p + ".norm.bias");
    const torch::Tensor w1 = w.at(p + ".fc1.weight").t(), w2 = w.at(p + ".fc2.weight").t();
    const torch::Tensor& b1 = w.at(p + ".fc1.bias");
    const torch::Tensor& b2 = w.at(p + ".fc2.bias");
    torch::Tensor out = torch::empty_like(input);
    parallelTasks(tasks, [&](std::int64_t first, std::int64_t last) {
        torch::Tensor hidden = torch::empty({rowsPerTask, w1.size(1)}, input.options());
        for (std::int64_t t = first; t < last; ++t) {
            const std::int64_t r0 = t * rowsPerTask, n = std::min(rowsPerTask, m - r0);
            const torch::Tensor rows = input.narrow(0, r0, n);
            torch::Tensor h = hidden.narrow(0, 0, n);
            at::addmm_out(h, b1, torch::layer_norm(rows, {c}, normWeight, normBias, 1e-5), w1);
            geluInPlace(h.data_ptr<float>(), h.numel());
            torch::Tensor o = out.narrow(0, r0, n);
            at::add_out(o, rows, b2);
            o.addmm_(h, w2);
        }
    });
    return out.view(x.sizes());
}

torch::Tensor tinyBlock(const Weights& w, const std::string& p, const torch::Tensor& x, std::int64_t res, int heads, int ws)
{
    const std::int64_t b = x.size(0), c = x.size(2);
    torch::Tensor out = tinyWindowAttention(w, p + ".attn", x.view({b, res, res, c}), heads, ws, x);
    out = depthwiseTokens(channelsLast(w, p + ".local_conv"), out, res);  // no residual
    return tinyMlp(w, p + ".mlp", out);
}

// The patch embedding's first convolution (3x3, stride 2, BatchNorm folded) and its GELU, from the NCHW image to a
// channels-last map [B, H / 2, W / 2, C], in bands of rows on the intra-op threads (LibTorch's convolution took 9 ms
// for the 0.45 GFLOP, with a layout copy before it and a GELU pass over the 32 MB result after).
torch::Tensor embedStem(const Weights& w, const std::string& p, const torch::Tensor& image)
{
    const Folded f = foldConvBn(w, p);
    const torch::Tensor input = image.contiguous();
    const std::int64_t b = input.size(0), ch = input.size(1), h = input.size(2), wd = input.size(3);
    const std::int64_t co = f.weight.size(0), ho = (h - 1) / 2 + 1, wo = (wd - 1) / 2 + 1, rowsPerTask = 8;
    const torch::Tensor weight = f.weight.permute({1, 2, 3, 0}).contiguous();  // [C, 3, 3, C']
    const torch::Tensor bias = f.bias.contiguous();
    torch::Tensor out = torch::empty({b, ho, wo, co}, input.options());
    const std::int64_t tasks = (ho + rowsPerTask - 1) / rowsPerTask;
    parallelTasks(b * tasks, [&](std::int64_t first, std::int64_t last) {
        for (std::int64_t t = first; t < last; ++t) {
            const std::int64_t bi = t / tasks, r0 = t % tasks * rowsPerTask, rows = std::min(rowsPerTask, ho - r0);
            float* o = out[bi].data_ptr<float>() + r0 * wo * co;
            conv3x3Stride2(input[bi].data_ptr<float>(), ch, h, wd, weight.data_ptr<float>(), bias.data_ptr<float>(), co,
                           r0, rows, o);
            geluInPlace(o, rows * wo * co);
        }
    });
    return out;
}

// A folded convolution (stride 2, padding 1) of TinyViT's patch embedding, channels-last in and out ([B, H, W, C]).
torch::Tensor embedConv(const Weights& w, const std::string& p, const torch::Tensor& x)
{
    const Folded f = foldConvBn(w, p);
    // LibTorch's convolution is several times faster on channels-last maps than on NCHW ones.
    const torch::Tensor map = x.permute({0, 3, 1, 2});
    return torch::conv2d(map, f.weight.contiguous(at::MemoryFormat::ChannelsLast), f.bias, 2, 1)
        .permute({0, 2, 3, 1})
        .contiguous();
}

// The whole TinyViT runs on channels-last maps and tokens: no NCHW copies between its stages.
torch::Tensor encodeTinyVit(const Weights& w, const Config& c, const torch::Tensor& input)
{
    const std::string e = "image_encoder.";
    torch::Tensor x = embedStem(w, e + "patch_embed.seq.0", input);
    x = embedConv(w, e + "patch_embed.seq.2", x);
    std::int64_t res = c.imageSize / 4;
    const int stages = int(c.tinyDims.size());
    // Stage 0: MBConv blocks on the [B, H, W, C] map.
    for (int j = 0; j < c.tinyDepths[0]; ++j) {
        const std::string p = e + "layers.0.blocks." + std::to_string(j);
        x = convChain(x, channelsLast(w, p + ".conv1"), channelsLast(w, p + ".conv2"), channelsLast(w, p + ".conv3"), 1, true);
    }
    x = patchMerging(w, e + "layers.0.downsample", x, stages == 2);
    res = stages == 2 ? res : res / 2;
    for (int i = 1; i < stages; ++i) {
        for (int j = 0; j < c.tinyDepths[i]; ++j)
            x = tinyBlock(w, e + "layers." + std::to_string(i) + ".blocks." + std::to_string(j), x, res, c.tinyHeads[i],
                          c.tinyWindows[i]);
        if (i + 1 < stages) {
            const bool last = i + 2 == stages;  // the merging that feeds the last stage has stride 1
            x = patchMerging(w, e + "layers." + std::to_string(i) + ".downsample", x.view({x.size(0), res, res, x.size(2)}), last);
            if (!last)
                res /= 2;
        }
    }
    const std::int64_t side = c.imageSize / c.patchSize;
    return neck(w, x.view({x.size(0), side, side, x.size(2)}));
}

}  // namespace

torch::Tensor encodeImage(const Weights& w, const Config& c, const torch::Tensor& input)
{
    // Every large product of the encoders is split across the OpenMP threads (parallelLinear, parallelTasks), so
    // OpenBLAS's own pool stays asleep: two pools spinning on two cores slowed each other by a quarter.
    SingleThreadedBlas singleBlas;
    if (c.tinyVit)
        return encodeTinyVit(w, c, input);
    torch::Tensor x = conv(w, "image_encoder.patch_embed.proj", input, c.patchSize).permute({0, 2, 3, 1});
    x = x + w.at("image_encoder.pos_embed");
    for (int i = 0; i < c.depth; ++i)
        x = vitBlock(w, c, i, x);
    return neck(w, x);
}

}  // namespace camsight::ml::sam
