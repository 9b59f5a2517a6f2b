// DecoderWeights: the SAM mask decoder's weights laid out once per model for decode() (SamDecoder.cpp): the dense
// positional encoding's per-axis tables, the upscaling convolutions as product matrices (and their AMX tiles), and
// every linear layer's weight in panels for smallLinear.

#include "core/ml/internal/SamNet.hpp"

// Local
#include "core/ml/internal/Amx.hpp"
#include "core/ml/internal/DecoderKernels.hpp"
#include "core/ml/internal/Parallel.hpp"

// Std
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

namespace camsight::ml::sam {

DecoderWeights::DecoderWeights(const Weights& w, const Config& c)
{
    c10::InferenceMode inference;
    // The dense positional encoding's per-axis tables: pixel (i, j) of the h x w grid has the coordinates
    // x = (j + 0.5) / w, y = (i + 0.5) / h, and channel c the angle a_c(j) + b_c(i) with a_c = 2 pi (2x - 1) G[0][c],
    // b_c = 2 pi (2y - 1) G[1][c] (PositionEmbeddingRandom). In double; the products in fourierBlock are float.
    m_gridH = m_gridW = c.imageSize / c.patchSize;
    const torch::Tensor gauss = w.at("prompt_encoder.pe_layer.positional_encoding_gaussian_matrix").to(torch::kDouble);
    const auto axis = [&](std::int64_t size, int row, torch::Tensor& sines, torch::Tensor& cosines) {
        const torch::Tensor u = (torch::arange(size, torch::kDouble) + 0.5) / double(size) * 2.0 - 1.0;  // [size]
        const torch::Tensor angle = 2.0 * M_PI * gauss[row].unsqueeze(1) * u.unsqueeze(0);              // [half, size]
        sines = torch::sin(angle).to(torch::kFloat32).contiguous();
        cosines = torch::cos(angle).to(torch::kFloat32).contiguous();
    };
    axis(m_gridW, 0, m_sinX, m_cosX);
    axis(m_gridH, 1, m_sinY, m_cosY);
    // The upscaling's 2x2 transposed convolutions [C_in, C_out, 2, 2] as products per pixel: rows (sub-pixel,
    // output channel), columns input channels.
    for (int i = 0; i < 2; ++i) {
        const torch::Tensor& t = w.at("mask_decoder.output_upscaling." + std::to_string(3 * i) + ".weight");
        m_upscaling[i] = t.to(torch::kFloat32).permute({2, 3, 1, 0}).reshape({4 * t.size(1), t.size(0)}).contiguous();
        if (amx::available())  // not enabled(): kept for when the path is switched (back) on
            m_upscalingTiles[i] = amx::packA(m_upscaling[i].data_ptr<float>(), m_upscaling[i].size(1),
                                             m_upscaling[i].size(0), m_upscaling[i].size(1));
    }
    for (const auto& [key, t] : w.all())
        if (key.rfind("mask_decoder.", 0) == 0 || key.rfind("prompt_encoder.", 0) == 0)
            m_values[key] = t.to(torch::kFloat32).contiguous();
    const std::string prefix = "mask_decoder.", suffix = ".weight";
    for (const auto& [key, t] : w.all()) {
        if (key.compare(0, prefix.size(), prefix) != 0 || key.size() < suffix.size() ||
            key.compare(key.size() - suffix.size(), suffix.size(), suffix) != 0 || t.dim() != 2)
            continue;
        const std::string name = key.substr(0, key.size() - suffix.size());
        // Panels of 32 output columns: [panels, in, 32], zero-padded; the bias padded alike.
        const std::int64_t out = t.size(0), in = t.size(1), panels = (out + 31) / 32;
        Layer& l = m_layers[name];
        const torch::Tensor padded = torch::zeros({panels * 32, in});
        padded.narrow(0, 0, out).copy_(t);
        l.panels = padded.view({panels, 32, in}).transpose(1, 2).contiguous();
        l.bias = torch::zeros({panels * 32});
        if (w.has(name + ".bias"))
            l.bias.narrow(0, 0, out).copy_(w.at(name + ".bias"));
        l.in = in;
        l.out = out;
    }
}

const DecoderWeights::Layer& DecoderWeights::layer(const std::string& p) const
{
    const auto it = m_layers.find(p);
    if (it == m_layers.end())
        throw std::out_of_range("no decoder layer " + p);
    return it->second;
}

std::int64_t DecoderWeights::outputs(const std::string& p) const
{
    return layer(p).out;
}

const float* DecoderWeights::values(const std::string& key) const
{
    const auto it = m_values.find(key);
    if (it == m_values.end())
        throw std::out_of_range("no prompt encoder or mask decoder tensor " + key);
    return it->second.data_ptr<float>();
}

void DecoderWeights::linear(const std::string& p, const float* x, std::int64_t rows, float* y) const
{
    const Layer& l = layer(p);
    const std::int64_t k = l.in, o = l.out, panels = l.panels.size(0);
    // Large layers (the MLPs' 2 MB weights) with their panels shared among the threads; the rest on this one.
    const auto run = [&](std::int64_t first, std::int64_t last) {
        smallLinear(x, rows, k, l.panels.data_ptr<float>(), l.bias.data_ptr<float>(), o, first, last, y);
    };
    if (k * o >= (1 << 16) && at::get_num_threads() > 1)
        parallelTasks(panels, run);
    else
        run(0, panels);
}

}  // namespace camsight::ml::sam
