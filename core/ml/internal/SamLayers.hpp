#pragma once
// Private to core/ml: the small layers the SAM encoders and decoder share, over weights named as in the checkpoint.

// Local
#include "core/ml/internal/Kernels.hpp"
#include "core/ml/internal/Parallel.hpp"
#include "core/ml/internal/SamNet.hpp"

// LibTorch
#include <torch/torch.h>

// Std
#include <algorithm>
#include <string>
#include <utility>
#include <vector>

namespace camsight::ml::sam {

// Products of at least this many rows run as parallelLinear (the encoders' token maps); smaller ones as one LibTorch
// call. (The mask decoder's prompt tokens go through DecoderWeights::linear instead.)
constexpr std::int64_t kParallelRows = 1024;

inline torch::Tensor linear(const Weights& w, const std::string& p, const torch::Tensor& x)
{
    const torch::Tensor& weight = w.at(p + ".weight");
    const torch::Tensor bias = w.has(p + ".bias") ? w.at(p + ".bias") : torch::Tensor();
    if (x.numel() / x.size(-1) < kParallelRows)
        return torch::linear(x, weight, bias);
    std::vector<std::int64_t> shape = x.sizes().vec();
    shape.back() = weight.size(0);
    return parallelLinear(x.reshape({-1, x.size(-1)}), weight, bias).view(shape);
}

// residual + linear(x), with the residual taken into the product's accumulator: (residual + bias) += x W^T. One pass
// fewer over the output than adding afterwards (the ViT blocks' outputs are 12 MB each).
inline torch::Tensor linearAdd(const Weights& w, const std::string& p, const torch::Tensor& x, const torch::Tensor& residual)
{
    const torch::Tensor& weight = w.at(p + ".weight");
    const torch::Tensor bias = w.has(p + ".bias") ? w.at(p + ".bias") : torch::Tensor();
    if (residual.numel() / residual.size(-1) >= kParallelRows)
        return parallelLinear(x.reshape({-1, weight.size(1)}), weight, bias, residual.reshape({-1, weight.size(0)}))
            .view(residual.sizes());
    torch::Tensor out = (bias.defined() ? residual + bias : residual.clone()).contiguous();
    out.view({-1, weight.size(0)}).addmm_(x.reshape({-1, weight.size(1)}), weight.t());
    return out;
}

inline torch::Tensor layerNorm(const Weights& w, const std::string& p, const torch::Tensor& x, double eps)
{
    return torch::layer_norm(x, {x.size(-1)}, w.at(p + ".weight"), w.at(p + ".bias"), eps);
}

// LayerNorm over channels of a [B, C, H, W] map (segment-anything's LayerNorm2d, eps 1e-6).
inline torch::Tensor layerNorm2d(const Weights& w, const std::string& p, const torch::Tensor& x, double eps = 1e-6)
{
    const torch::Tensor u = x.mean(1, true);
    const torch::Tensor s = (x - u).pow(2).mean(1, true);
    const torch::Tensor y = (x - u) / torch::sqrt(s + eps);
    return w.at(p + ".weight").view({-1, 1, 1}) * y + w.at(p + ".bias").view({-1, 1, 1});
}

inline torch::Tensor conv(const Weights& w, const std::string& p, const torch::Tensor& x, std::int64_t stride = 1,
                   std::int64_t padding = 0)
{
    return torch::conv2d(x, w.at(p + ".weight"), w.has(p + ".bias") ? w.at(p + ".bias") : torch::Tensor(), stride, padding);
}

// GELU (erf, not tanh) in place on a freshly made tensor: no second buffer of the (often tens of MB) activation. On
// the CPU by geluInPlace (erf by Abramowitz & Stegun 7.1.28, no exp; about three times LibTorch's kernel) in chunks
// on the intra-op threads.
inline torch::Tensor geluExact(torch::Tensor&& x)
{
    if (!x.device().is_cpu() || x.scalar_type() != torch::kFloat || !x.is_contiguous())
        return at::gelu_out(x, x);
    float* data = x.data_ptr<float>();
    const std::int64_t count = x.numel(), chunk = 1 << 16;
    parallelTasks((count + chunk - 1) / chunk, [&](std::int64_t first, std::int64_t last) {
        geluInPlace(data + first * chunk, std::min(count, last * chunk) - first * chunk);
    });
    return std::move(x);
}

}  // namespace camsight::ml::sam
