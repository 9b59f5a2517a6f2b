// The SAM mask decoder's prompt-token side (internal/SamDecoderTokens.hpp): a handful of [T, C] rows through the
// prompt encoder's sparse embeddings, the two-way transformer's token attention, MLPs and norms, and the heads, on
// plain float rows. The linear layers go through smallLinear (DecoderWeights::linear); the per-head products with
// slices of the attention weights through accumulateDots and accumulateProducts.

#include "core/ml/internal/SamDecoderTokens.hpp"

// Local
#include "core/ml/internal/DecoderKernels.hpp"

// Std
#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace camsight::ml::sam {

TokenRows operator+(const TokenRows& a, const TokenRows& b)
{
    if (a.rows != b.rows || a.cols != b.cols)
        throw std::logic_error("token rows of different shapes added");
    TokenRows s = a;
    for (std::size_t i = 0; i < s.values.size(); ++i)
        s.values[i] += b.values[i];
    return s;
}

TokenRows selectRows(const TokenRows& x, const std::vector<std::int64_t>& rows)
{
    TokenRows s(std::int64_t(rows.size()), x.cols);
    for (std::size_t i = 0; i < rows.size(); ++i)
        std::copy(x.row(rows[i]), x.row(rows[i]) + x.cols, s.row(std::int64_t(i)));
    return s;
}

TokenRows promptTokens(const DecoderWeights& dw, const Config& c, const Prompt& p)
{
    // The sparse prompts as (x, y, kind): kind -1 the padding point, 0 / 1 a background / foreground point, 2 / 3 a
    // box's top-left / bottom-right corner. Coordinates in the model's input frame, shifted to the pixel centre.
    struct Sparse {
        float x, y;
        int kind;
    };
    std::vector<Sparse> sparse;
    if (p.points.defined()) {
        const torch::Tensor points = p.points.to(torch::kFloat32).contiguous();
        const torch::Tensor labels = p.labels.to(torch::kFloat32).contiguous();
        const float* xy = points.data_ptr<float>();
        for (std::int64_t i = 0; i < points.size(1); ++i) {
            const float label = labels.data_ptr<float>()[i];
            if (label != -1.0f && label != 0.0f && label != 1.0f)
                throw std::invalid_argument("a SAM point label is 1, 0 or -1, got " + std::to_string(label));
            sparse.push_back({xy[2 * i] + 0.5f, xy[2 * i + 1] + 0.5f, int(label)});
        }
        if (!p.box.defined())
            sparse.push_back({0.0f, 0.0f, -1});
    }
    if (p.box.defined()) {
        const torch::Tensor box = p.box.to(torch::kFloat32).contiguous();
        const float* b = box.data_ptr<float>();
        sparse.push_back({b[0] + 0.5f, b[1] + 0.5f, 2});
        sparse.push_back({b[2] + 0.5f, b[3] + 0.5f, 3});
    }
    const std::int64_t ch = c.outChans, half = ch / 2, fixed = 1 + c.maskTokens;
    TokenRows t(fixed + std::int64_t(sparse.size()), ch);
    const float* iouToken = dw.values("mask_decoder.iou_token.weight");
    const float* maskTokens = dw.values("mask_decoder.mask_tokens.weight");
    std::copy(iouToken, iouToken + ch, t.row(0));
    std::copy(maskTokens, maskTokens + c.maskTokens * ch, t.row(1));
    // PositionEmbeddingRandom.forward_with_coords in float: u = 2 (x / W) - 1, v alike, angle_c = 2 pi (u G[0][c] +
    // v G[1][c]), the features [sin, cos] of the angles.
    const float* gauss = dw.values("prompt_encoder.pe_layer.positional_encoding_gaussian_matrix");  // [2, C/2]
    const float twoPi = float(2.0 * M_PI), size = float(c.imageSize);
    for (std::size_t i = 0; i < sparse.size(); ++i) {
        const Sparse& s = sparse[i];
        float* e = t.row(fixed + std::int64_t(i));
        const std::string embedding =
            s.kind == -1 ? "prompt_encoder.not_a_point_embed.weight"
                         : "prompt_encoder.point_embeddings." + std::to_string(s.kind) + ".weight";
        const float* add = dw.values(embedding);
        if (s.kind == -1) {  // the padding point's features are zeroed before its embedding is added
            std::copy(add, add + ch, e);
            continue;
        }
        const float u = 2.0f * (s.x / size) - 1.0f, v = 2.0f * (s.y / size) - 1.0f;
        for (std::int64_t k = 0; k < half; ++k) {
            const float angle = twoPi * (u * gauss[k] + v * gauss[half + k]);
            e[k] = std::sin(angle) + add[k];
            e[half + k] = std::cos(angle) + add[half + k];
        }
    }
    return t;
}

TokenRows linear(const DecoderWeights& dw, const std::string& p, const TokenRows& x)
{
    TokenRows y(x.rows, dw.outputs(p));
    dw.linear(p, x.data(), x.rows, y.data());
    return y;
}

void layerNormRows(const DecoderWeights& dw, const std::string& p, TokenRows& x, float eps)
{
    const float* gamma = dw.values(p + ".weight");
    const float* beta = dw.values(p + ".bias");
    for (std::int64_t r = 0; r < x.rows; ++r) {
        float* v = x.row(r);
        double mean = 0.0, var = 0.0;
        for (std::int64_t c = 0; c < x.cols; ++c)
            mean += v[c];
        mean /= double(x.cols);
        for (std::int64_t c = 0; c < x.cols; ++c)
            var += (v[c] - mean) * (v[c] - mean);
        const double inv = 1.0 / std::sqrt(var / double(x.cols) + double(eps));
        for (std::int64_t c = 0; c < x.cols; ++c)
            v[c] = float((v[c] - mean) * inv) * gamma[c] + beta[c];
    }
}

TokenRows mlp(const DecoderWeights& dw, const std::vector<std::string>& layers, const TokenRows& x)
{
    TokenRows y = x;
    for (std::size_t i = 0; i < layers.size(); ++i) {
        y = linear(dw, layers[i], y);
        if (i + 1 < layers.size())
            for (float& v : y.values)
                v = std::max(v, 0.0f);
    }
    return y;
}

TokenRows mlp(const DecoderWeights& dw, const std::string& p, const TokenRows& x, int layers)
{
    std::vector<std::string> names;
    for (int i = 0; i < layers; ++i)
        names.push_back(p + ".layers." + std::to_string(i));
    return mlp(dw, names, x);
}

namespace {

// segment-anything's Attention over tokens: projections, per head softmax(q k^T / sqrt(d)) v, output projection.
TokenRows attention(const DecoderWeights& dw, const std::string& p, const TokenRows& qIn, const TokenRows& kIn,
                    const TokenRows& vIn, int heads)
{
    const TokenRows q = linear(dw, p + ".q_proj", qIn), k = linear(dw, p + ".k_proj", kIn),
                    v = linear(dw, p + ".v_proj", vIn);
    const std::int64_t dim = q.cols, d = dim / heads, t = q.rows, s = k.rows;
    const float root = std::sqrt(float(d));
    TokenRows out(t, dim);
    std::vector<float> scores(std::size_t(t * s));
    for (int h = 0; h < heads; ++h) {
        std::fill(scores.begin(), scores.end(), 0.0f);
        accumulateDots(q.data() + h * d, dim, t, k.data() + h * d, dim, s, d, scores.data(), s);
        for (std::int64_t i = 0; i < t; ++i) {
            float* row = scores.data() + i * s;
            float top = -INFINITY;
            for (std::int64_t j = 0; j < s; ++j)
                top = std::max(top, row[j] /= root);
            float sum = 0.0f;
            for (std::int64_t j = 0; j < s; ++j)
                sum += row[j] = std::exp(row[j] - top);
            for (std::int64_t j = 0; j < s; ++j)
                row[j] /= sum;
        }
        accumulateProducts(scores.data(), s, t, v.data() + h * d, dim, s, d, out.data() + h * d, dim);
    }
    return linear(dw, p + ".out_proj", out);
}

// Every value of x times `factor`, in place.
void scaleBy(TokenRows& x, float factor)
{
    for (float& v : x.values)
        v *= factor;
}

}  // namespace

TokenRows selfAttentionBlock(const DecoderWeights& dw, const std::string& p, int layer, const TokenRows& queries,
                             const TokenRows& tokens, int heads)
{
    TokenRows q;
    if (layer == 0) {
        q = attention(dw, p + ".self_attn", queries, queries, queries, heads);
    } else {
        const TokenRows qk = queries + tokens;
        q = queries + attention(dw, p + ".self_attn", qk, qk, queries, heads);
    }
    layerNormRows(dw, p + ".norm1", q, 1e-5f);
    return q;
}

TokenRows tokenToImageQueries(const DecoderWeights& dw, const std::string& p, const TokenRows& q, int heads)
{
    TokenRows qp = linear(dw, p + ".q_proj", q);
    const std::int64_t dim = qp.cols, d = dim / heads, t = qp.rows, ch = q.cols;
    scaleBy(qp, 1.0f / std::sqrt(float(d)));
    const float* wk = dw.values(p + ".k_proj.weight");  // [dim, C]
    TokenRows m(heads * t, ch);
    for (int h = 0; h < heads; ++h)
        accumulateProducts(qp.data() + h * d, dim, t, wk + h * d * ch, ch, d, ch, m.row(h * t), ch);
    return m;
}

TokenRows tokenToImageOutput(const DecoderWeights& dw, const std::string& p, const TokenRows& z, int heads)
{
    const std::int64_t dim = dw.outputs(p + ".v_proj"), d = dim / heads, t = z.rows / heads, ch = z.cols;
    const float* wv = dw.values(p + ".v_proj.weight");  // [dim, C]
    const float* bv = dw.values(p + ".v_proj.bias");
    TokenRows o(t, dim);
    for (int h = 0; h < heads; ++h)
        accumulateDots(z.row(h * t), ch, t, wv + h * d * ch, ch, d, ch, o.data() + h * d, dim);
    for (std::int64_t r = 0; r < t; ++r)
        for (std::int64_t c = 0; c < dim; ++c)
            o.row(r)[c] += bv[c];
    return linear(dw, p + ".out_proj", o);
}

ImageToTokenTerms imageToTokenTerms(const DecoderWeights& dw, const std::string& p, const TokenRows& k,
                                    const TokenRows& v, int heads)
{
    TokenRows kp = linear(dw, p + ".k_proj", k);
    const TokenRows vp = linear(dw, p + ".v_proj", v);
    const std::int64_t dim = kp.cols, d = dim / heads, t = kp.rows, ch = k.cols;
    scaleBy(kp, 1.0f / std::sqrt(float(d)));
    const float* wq = dw.values(p + ".q_proj.weight");  // [dim, C]
    const float* bq = dw.values(p + ".q_proj.bias");
    const float* wo = dw.values(p + ".out_proj.weight");  // [C, dim]
    ImageToTokenTerms r;
    r.g = TokenRows(heads * t, ch);
    r.g0.assign(std::size_t(heads * t), 0.0f);
    r.pvT = TokenRows(ch, heads * t);
    for (int h = 0; h < heads; ++h) {
        accumulateProducts(kp.data() + h * d, dim, t, wq + h * d * ch, ch, d, ch, r.g.row(h * t), ch);
        accumulateDots(kp.data() + h * d, dim, t, bq + h * d, d, 1, d, r.g0.data() + h * t, 1);
        accumulateDots(wo + h * d, dim, ch, vp.data() + h * d, dim, t, d, r.pvT.data() + h * t, heads * t);
    }
    r.outBias = dw.values(p + ".out_proj.bias");
    return r;
}

}  // namespace camsight::ml::sam
