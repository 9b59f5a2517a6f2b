// The SAM mask decoder for one prompt: two-way transformer, output upscaling, hypernetwork heads and IoU head.
//
// The prompt side (a handful of tokens) is plain loops over float rows (SamDecoderTokens.cpp), its linear layers
// through smallLinear on weights laid out once per model (DecoderWeights). The image side (N = 64 x 64 tokens of C
// channels) stays channels-first, [C, N], the layout the image embedding already has, and is processed in blocks of
// kBlock columns on the intra-op threads, each block's intermediate values in cache:
//   - no [N, C] x [C, C/2] projection of the image tokens is ever made: with the prompt tokens' projections folded
//     into [heads * T, C] matrices (T tokens, 56 rows for one click), every product over the image has heads * T rows;
//   - each image-to-token attention (which updates the image tokens) is one pass per block: the scores, each pixel's
//     softmax over a head's tokens, the output product on top of the residual, LayerNorm, and then, on the updated
//     tokens while they are in cache, the next token-to-image attention (its softmax over all pixels online, as
//     flash attention does it, so the maps are read once); the image tokens are updated in place;
//   - the dense positional encoding is made per block from per-axis sine and cosine tables, never read as a map;
//   - the upscaling (two 2x2 transposed convolutions, LayerNorm2d, GELUs) and the hypernetwork product run per block
//     too, so the 256 x 256 x C/8 map is never stored: only the K masks are;
//   - the products over the image run on AMX tiles where the CPU has them (internal/Amx.hpp: float precision for the
//     attention, three part products for the upscaling convolutions), else through OpenBLAS and accumulateDots; the
//     maps a pass writes are stored block by block ([N / kBlock][C, kBlock]).
// The same arithmetic as segment-anything's MaskDecoder up to float rounding (the golden tests and bench_sam's
// float64 comparison measure how far).

#include "core/ml/internal/SamNet.hpp"

// Local
#include "core/ml/internal/Amx.hpp"
#include "core/ml/internal/DecoderKernels.hpp"
#include "core/ml/internal/Kernels.hpp"
#include "core/ml/internal/Parallel.hpp"
#include "core/ml/internal/SamDecoderTokens.hpp"

// Std
#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

namespace camsight::ml::sam {
namespace {

// Image columns per block: a block's [C, kBlock] inputs and outputs (128 KB each for C = 256) and its packed
// operands stay in L2 with room to spare (with 256 columns, ~1.3 MB of them per thread, the image-to-token passes
// ran ~10 % slower; with 64, the per-block work outweighed the gain).
constexpr std::int64_t kBlock = 128;

// c [m, n] (row stride ldc) = (accumulate ? c : 0) + op(a) op(b), row-major blocks through LibTorch's BLAS; op(a) is
// [m, k]: a with row stride lda or, transposed, a [k, m]. Strided views, so nothing is copied.
void gemm(bool transA, bool transB, std::int64_t m, std::int64_t n, std::int64_t k, const float* a, std::int64_t lda,
          const float* b, std::int64_t ldb, bool accumulate, float* c, std::int64_t ldc)
{
    const auto view = [](const float* p, std::int64_t rows, std::int64_t cols, std::int64_t ld, bool trans) {
        const torch::Tensor t = torch::from_blob(const_cast<float*>(p), {trans ? cols : rows, trans ? rows : cols},
                                                 {ld, 1}, torch::kFloat32);
        return trans ? t.t() : t;
    };
    torch::Tensor out = torch::from_blob(c, {m, n}, {ldc, 1}, torch::kFloat32);
    const torch::Tensor x = view(a, m, k, lda, transA), y = view(b, k, n, ldb, transB);
    if (accumulate)
        out.addmm_(x, y);
    else
        at::mm_out(out, x, y);
}

// A per-thread buffer of at least `floats` floats, kept for the thread's next call (the passes run on the same
// OpenMP threads every time; a fresh 256 KB allocation per pass is an mmap and page faults).
float* threadScratch(std::size_t floats)
{
    thread_local std::vector<float, amx::CacheLineAllocator<float>> buffer;  // whole tiles of results: aligned
    if (buffer.size() < floats)
        buffer.resize(floats);
    return buffer.data();
}

// The output upscaling's transposed convolutions on AMX keep three of the six part products (amx::Precision): each
// product within 2^-16 of exact, finer than the TF32 (2^-11) that PyTorch's cuDNN convolutions use by default on
// GPUs, and ~1.5x the rate of the float-precision products. Their outputs go through GELU into the mask logits, with
// no softmax after them to amplify an error (the attention's products keep float precision).
constexpr amx::Precision kUpscalingPrecision = amx::Precision::Parts3;

// A per-thread buffer for operands packed for AMX (amx::packB), kept like threadScratch's.
std::uint16_t* threadTiles(std::size_t values, int which = 0)
{
    thread_local amx::Tiles buffers[2];
    amx::Tiles& buffer = buffers[which];
    if (buffer.size() < values)
        buffer.resize(values);
    return buffer.data();
}

// A contiguous float matrix [rows, k] packed as an AMX product's left operand where AMX products run now, else
// nothing (the float path).
amx::Tiles tilesOf(const TokenRows& a)
{
    return amx::enabled() ? amx::packA(a.data(), a.cols, a.rows, a.cols) : amx::Tiles{};
}

// Whether this decode's image-side products run on AMX: amx::enabled() and the operand `aTiles` packed for it.
bool onTiles(const amx::Tiles& aTiles)
{
    return amx::enabled() && !aTiles.empty();
}

// n rounded up to whole tiles of 16 rows or columns.
std::int64_t wholeTiles(std::int64_t n)
{
    return (n + 15) / 16 * 16;
}

// c [m, cols] (row stride cols) = (accumulate ? c : 0) + a b for a [m, k] given as a (row stride k) and, where AMX
// runs (onTiles), as `aTiles` (amx::packA), and a block b [k, cols] (row stride cols). On AMX, b + plus when `plus`
// [k, cols] is given (the keys and their positional encoding, summed as they are packed); the float path takes the
// sum made by the caller. On AMX, c must have room for wholeTiles(m) rows: the products run on whole tiles (a partial
// one went through a scalar copy), the rows past m getting the packed zeros' products.
void productWithBlock(const float* a, const amx::Tiles& aTiles, std::int64_t m, std::int64_t k,
                      const float* b, const float* plus, std::int64_t cols, bool accumulate, float* c,
                      amx::Precision precision)
{
    if (onTiles(aTiles)) {
        std::uint16_t* packed = threadTiles(amx::packedSize(cols, k));
        amx::packB(b, cols, k, cols, packed, plus, cols, precision);
        amx::gemm(aTiles.data(), packed, wholeTiles(m), cols, k, accumulate, c, cols, precision);
    } else {
        if (plus)
            throw std::logic_error("productWithBlock: the float path takes b + plus made by the caller");
        gemm(false, false, m, cols, k, a, k, b, cols, accumulate, c, cols);
    }
}

// fn(column0, columns) for every block of the N image columns, blocks shared out among the intra-op threads.
template <class Fn>
void forBlocks(std::int64_t n, const Fn& fn)
{
    parallelTasks((n + kBlock - 1) / kBlock, [&](std::int64_t first, std::int64_t last) {
        for (std::int64_t b = first; b < last; ++b)
            fn(b * kBlock, std::min(kBlock, n - b * kBlock));
    });
}

// The image tokens' side of the decoder: [C, N] maps, row-major, on an h x w grid.
struct ImageGrid {
    std::int64_t channels, n, h, w;
    const DecoderWeights* weights;  // the positional encoding's tables, the upscaling's weights
};

// The dense positional encoding of the block's pixels, [C, cols].
void positionalBlock(const ImageGrid& g, std::int64_t j0, std::int64_t cols, float* out)
{
    const DecoderWeights& d = *g.weights;
    fourierBlock(d.peSinX(), d.peCosX(), d.peSinY(), d.peCosY(), g.channels / 2, g.h, g.w, j0, cols, out);
}

// A block of keys x [C, cols] (row stride ld) + its positional encoding pe [C, cols], into out [C, cols].
void addPe(const ImageGrid& g, const float* x, std::int64_t ld, const float* pe, std::int64_t cols, float* out)
{
    for (std::int64_t c = 0; c < g.channels; ++c) {
        const float* a = x + c * ld;
        const float* p = pe + c * cols;
        float* o = out + c * cols;
        for (std::int64_t j = 0; j < cols; ++j)
            o[j] = a[j] + p[j];
    }
}

// The image-to-token attention's terms (ImageToTokenTerms) with g and pvT packed for AMX products, where they run.
struct ImageToToken {
    ImageToTokenTerms terms;
    amx::Tiles gTiles, pvTTiles;
};

ImageToToken withTiles(ImageToTokenTerms terms)
{
    ImageToToken r;
    r.terms = std::move(terms);
    r.gTiles = tilesOf(r.terms.g);
    r.pvTTiles = tilesOf(r.terms.pvT);
    return r;
}

// ---- Image side: passes over the [C, N] maps ------------------------------------------------------------------------

// The prompt's dense embedding, added to the image embedding to make the first keys: a map [C, N] or, without a mask
// input, one value per channel.
struct Dense {
    const float* map = nullptr;
    const float* perChannel = nullptr;
};

// z [rows, cols] (row stride ld): column j times e^(before[j] - after[j]), the online softmax's rescaling of a
// running output kept transposed (a column per query). Row by row with a factor per column, 1 (exact) where the
// maximum has not moved, so the loop runs along the rows' memory; nothing at all when no maximum moved (most blocks
// after the first few). Column by column, 256 strided multiplies per moved maximum, it cost ~5 % of a pass.
void rescaleColumns(float* z, std::int64_t ld, std::int64_t rows, std::int64_t cols, const float* before,
                    const float* after)
{
    thread_local std::vector<float> factor;
    factor.assign(std::size_t(cols), 1.0f);
    bool moved = false;
    for (std::int64_t j = 0; j < cols; ++j)
        if (before[j] != after[j]) {
            factor[std::size_t(j)] = std::exp(before[j] - after[j]);
            moved = true;
        }
    if (!moved)
        return;
    for (std::int64_t r = 0; r < rows; ++r) {
        float* row = z + r * ld;
        for (std::int64_t j = 0; j < cols; ++j)
            row[j] *= factor[std::size_t(j)];
    }
}

// One thread's share of a token-to-image attention, accumulated block by block (softmaxRowsOnline): running row
// maxima and sums and the unnormalised output rows.
struct PartialAttention {
    std::vector<float> max, sum;
    // [rows, C], or on AMX its transpose [C, wholeTiles(rows)] (whole result tiles, aligned)
    std::vector<float, amx::CacheLineAllocator<float>> z;
    std::vector<float> previousMax;
};

// One pass over the image columns, block by block. The pass's keys are `in`: with `dense`, the image embedding [C, N]
// plus the dense prompt embedding (the first layer's keys); else a previous pass's output, which is stored block by
// block ([N / kBlock][C, kBlock], each block contiguous: a block's rows are never 16 KB apart, which made the
// LayerNorm's and BLAS's reads down a block's columns miss the caches). With `terms` (a layer's image-to-token
// attention), the keys first become LayerNorm(keys + that attention), written to `out` (which may be `in`: a block
// reads only its own columns, before it writes them). Then, on those keys while they are in cache, the
// token-to-image attention of the queries m over keys + pe, with the keys as values: returns
// z = softmax(m (keys + pe)) keys^T [rows of m, C]. So each attention over the image is one read of the maps, and
// the softmax over all N pixels needs no second pass.
TokenRows imagePass(const ImageGrid& g, const float* in, const Dense& dense, const ImageToToken* terms,
                    std::int64_t heads, const float* gamma, const float* beta, float* out, const TokenRows& m)
{
    const std::int64_t ch = g.channels, rows = m.rows, termRows = terms ? terms->terms.g.rows : 0;
    const amx::Tiles mTiles = tilesOf(m);
    // On AMX or not, decided once for the pass: the running outputs' layout depends on it.
    const bool tiles = onTiles(mTiles);
    const std::int64_t ldz = tiles ? wholeTiles(rows) : ch;
    std::vector<PartialAttention> partials(std::size_t(std::max(1, at::get_num_threads())));
    for (auto& p : partials) {
        p.max.assign(std::size_t(rows), -std::numeric_limits<float>::infinity());
        p.sum.assign(std::size_t(rows), 0.0f);
        p.z.assign(std::size_t(tiles ? ch * ldz : rows * ch), 0.0f);
        p.previousMax.resize(std::size_t(rows));
    }
    // Room for whole tiles of rows in the products' results (productWithBlock).
    const std::int64_t sRows = wholeTiles(termRows), scoreRows = wholeTiles(rows);
    forBlocks(g.n, [&](std::int64_t j0, std::int64_t cols) {
        PartialAttention& part = partials[std::size_t(at::get_thread_num())];
        float* k = threadScratch(std::size_t((4 * ch + sRows + scoreRows) * kBlock));
        float* pe = k + 3 * ch * kBlock + (sRows + scoreRows) * kBlock;
        float* kpe = k + ch * kBlock;
        float* o = kpe + ch * kBlock;
        float* s = o + ch * kBlock;
        float* scores = s + sRows * kBlock;
        // The block's keys [C, cols] and, on the float path, keys + pe (on AMX they are summed as they are packed).
        positionalBlock(g, j0, cols, pe);
        const float* keys = in + j0 * ch;  // keys of the previous pass: blocks [C, cols]
        if (dense.map || dense.perChannel) {  // the first layer's keys: image embedding [C, N] + dense prompt embedding
            for (std::int64_t c = 0; c < ch; ++c) {
                const float* x = in + c * g.n + j0;
                float* dst = k + c * cols;
                // The row four channels on: the map's rows are 16 KB apart and a block reads 512 B of each, too short
                // a run for the hardware prefetcher (this copy 0.44 -> 0.36 ms a click on one thread).
                if (c + 4 < ch)
                    for (std::int64_t l = 0; l < cols; l += 16)
                        __builtin_prefetch(x + 4 * g.n + l);
                if (dense.map)
                    for (std::int64_t j = 0; j < cols; ++j)
                        dst[j] = x[j] + dense.map[c * g.n + j0 + j];
                else
                    for (std::int64_t j = 0; j < cols; ++j)
                        dst[j] = x[j] + dense.perChannel[c];
            }
            keys = k;
        }
        if (!tiles)
            addPe(g, keys, cols, pe, cols, kpe);
        if (terms) {
            productWithBlock(terms->terms.g.data(), terms->gTiles, termRows, ch, tiles ? keys : kpe,
                             tiles ? pe : nullptr, cols, false, s, amx::Precision::Float);
            softmaxColumnGroups(s, cols, heads, termRows / heads, cols, terms->terms.g0.data());
            productWithBlock(terms->terms.pvT.data(), terms->pvTTiles, ch, termRows, s, nullptr, cols, false, o,
                             amx::Precision::Float);
            // The new keys: LayerNorm(attention + keys + output bias), written to `out` and, on the float path, with
            // pe to kpe.
            ColumnNorm norm;
            norm.in = o;
            norm.ldIn = cols;
            norm.residual = keys;
            norm.ldResidual = cols;
            norm.rowBias = terms->terms.outBias;
            norm.gamma = gamma;
            norm.beta = beta;
            norm.out = out + j0 * ch;
            norm.ldOut = cols;
            if (!tiles) {
                norm.plus = pe;
                norm.ldPlus = cols;
                norm.plusOut = kpe;
                norm.ldPlusOut = cols;
            }
            layerNormColumns(norm, ch, cols);
            keys = out + j0 * ch;
        }
        productWithBlock(m.data(), mTiles, rows, ch, tiles ? keys : kpe, tiles ? pe : nullptr, cols, false,
                         scores, amx::Precision::Float);
        if (tiles) {
            // z^T [C, rows] += keys [C, cols] scores^T on AMX; the running output rescaled here, as a column of z^T.
            std::copy(part.max.begin(), part.max.end(), part.previousMax.begin());
            softmaxRowsOnline(scores, cols, rows, cols, part.max.data(), part.sum.data(), nullptr, 0, 0);
            rescaleColumns(part.z.data(), ldz, ch, rows, part.previousMax.data(), part.max.data());
            std::uint16_t* keyTiles = threadTiles(amx::packedSize(ch, cols), 0);
            std::uint16_t* weightTiles = threadTiles(amx::packedSize(rows, cols), 1);
            amx::packA(keys, cols, ch, cols, keyTiles);
            amx::packBTransposed(scores, cols, cols, rows, weightTiles);
            amx::gemm(keyTiles, weightTiles, ch, ldz, cols, true, part.z.data(), ldz);
        } else {
            softmaxRowsOnline(scores, cols, rows, cols, part.max.data(), part.sum.data(), part.z.data(), ch, ch);
            accumulateDots(scores, cols, rows, keys, cols, ch, cols, part.z.data(), ch);
        }
    });
    // The threads' shares combined: z = sum_t e^(max_t - max) z_t / sum_t e^(max_t - max) sum_t.
    TokenRows z(rows, ch);
    float* zp = z.data();
    for (std::int64_t r = 0; r < rows; ++r) {
        float top = -std::numeric_limits<float>::infinity();
        for (const auto& p : partials)
            top = std::max(top, p.max[std::size_t(r)]);
        double total = 0.0;
        for (const auto& p : partials) {
            const float f = std::exp(p.max[std::size_t(r)] - top);
            total += double(f) * p.sum[std::size_t(r)];
            for (std::int64_t c = 0; c < ch; ++c)
                zp[r * ch + c] += f * p.z[std::size_t(tiles ? c * ldz + r : r * ch + c)];
        }
        for (std::int64_t c = 0; c < ch; ++c)
            zp[r * ch + c] = float(zp[r * ch + c] / total);
    }
    return z;
}

// Output upscaling and hypernetwork product: masks [K, 4h, 4w] from the final keys (blocks [C, kBlock]). A 2x2
// transposed convolution of stride 2 is one product per pixel (C_in -> 2 x 2 x C_out); its four sub-pixels (s1) each go
// through LayerNorm2d and GELU, the second one's four (s2) through GELU, and the hypernetwork vectors reduce those
// C/8 channels to the K masks, written to their place in the 4x grid.
void upscaleAndMask(const ImageGrid& g, const float* keys, const TokenRows& hyper, float* masks)
{
    const DecoderWeights& dw = *g.weights;
    const std::string p = "mask_decoder.output_upscaling.";
    const torch::Tensor& w1s = dw.upscaling(0);  // [4 C/4, C]
    const torch::Tensor& w3s = dw.upscaling(1);  // [4 C/8, C/4]
    const std::int64_t ch = g.channels, c1 = w1s.size(0) / 4, c2 = w3s.size(0) / 4, k = hyper.rows;
    const float* b1 = dw.values(p + "0.bias");
    const float* b3 = dw.values(p + "3.bias");
    const float* gamma = dw.values(p + "1.weight");
    const float* beta = dw.values(p + "1.bias");
    const std::int64_t outW = 4 * g.w, plane = 16 * g.h * g.w;
    forBlocks(g.n, [&](std::int64_t j0, std::int64_t cols) {
        float* u1 = threadScratch(std::size_t((4 * c1 + 4 * c2 + k) * kBlock));
        float* u2 = u1 + 4 * c1 * kBlock;
        float* m = u2 + 4 * c2 * kBlock;
        productWithBlock(w1s.data_ptr<float>(), dw.upscalingTiles(0), 4 * c1, ch, keys + j0 * ch, nullptr, cols,
                         false, u1, kUpscalingPrecision);
        for (int s1 = 0; s1 < 4; ++s1) {
            float* x = u1 + s1 * c1 * cols;
            ColumnNorm norm;
            norm.in = x;
            norm.ldIn = cols;
            norm.rowBias = b1;
            norm.gamma = gamma;
            norm.beta = beta;
            norm.eps = 1e-6f;
            norm.out = x;
            norm.ldOut = cols;
            layerNormColumns(norm, c1, cols);
            geluInPlace(x, c1 * cols);
            productWithBlock(w3s.data_ptr<float>(), dw.upscalingTiles(1), 4 * c2, c1, x, nullptr, cols, false,
                             u2, kUpscalingPrecision);
            for (int s2 = 0; s2 < 4; ++s2) {
                // The second convolution's bias and GELU taken as the hypernetwork vectors sum its channels.
                combineGeluRows(u2 + s2 * c2 * cols, cols, c2, b3, hyper.data(), k, cols, m, cols);
                const std::int64_t dy = 2 * (s1 / 2) + s2 / 2, dx = 2 * (s1 % 2) + s2 % 2;
                // Pixel j0 + j at (row, col) of the grid, counted along (a division per pixel cost ~0.5 ms a click).
                std::int64_t row = j0 / g.w, col = j0 % g.w;
                for (std::int64_t j = 0; j < cols; ++j) {
                    const std::int64_t offset = (4 * row + dy) * outW + 4 * col + dx;
                    for (std::int64_t o = 0; o < k; ++o)
                        masks[o * plane + offset] = m[o * cols + j];
                    if (++col == g.w) {
                        col = 0;
                        ++row;
                    }
                }
            }
        }
    });
}

}  // namespace

std::pair<torch::Tensor, torch::Tensor> decode(const Weights& w, const DecoderWeights& dw, const Config& c,
                                               const torch::Tensor& embedding, const Prompt& prompt, bool multimask)
{
    if (embedding.size(0) != 1 || !embedding.is_contiguous() || embedding.scalar_type() != torch::kFloat32 ||
        !embedding.device().is_cpu() || embedding.size(2) != dw.gridHeight() || embedding.size(3) != dw.gridWidth())
        throw std::invalid_argument("the SAM decoder takes one contiguous float32 CPU embedding of " +
                                    std::to_string(dw.gridHeight()) + " x " + std::to_string(dw.gridWidth()) +
                                    " tokens");
    if (c.decoderDepth < 1)
        throw std::invalid_argument("a SAM mask decoder without transformer layers");
    if ((prompt.points.defined() && prompt.points.size(0) != 1) || (prompt.box.defined() && prompt.box.size(0) != 1))
        throw std::invalid_argument("the SAM decoder takes one prompt at a time");
    const int heads = c.decoderHeads;
    const std::string layer = "mask_decoder.transformer.layers.";
    // Tokens: IoU token, mask tokens, prompt tokens; they are also the queries' positional encoding.
    const TokenRows tokens = promptTokens(dw, c, prompt);
    const ImageGrid g{embedding.size(1), embedding.size(2) * embedding.size(3), embedding.size(2), embedding.size(3),
                      &dw};
    // The first keys: the embedding plus the dense prompt embedding (the mask input's, else no_mask_embed).
    torch::Tensor maskDense;
    Dense firstDense;
    if (prompt.maskInput.defined()) {
        maskDense = maskEmbedding(w, prompt.maskInput).contiguous();
        firstDense.map = maskDense.data_ptr<float>();
    } else {
        firstDense.perChannel = dw.values("prompt_encoder.no_mask_embed.weight");
    }
    // The final attention only for the tokens whose outputs are used: the IoU token and the returned masks' tokens
    // (1..3 with multimask, else 0). Each token's attention and LayerNorm are its own.
    const int first = multimask ? 1 : 0, count = multimask ? c.maskTokens - 1 : 1;
    std::vector<std::int64_t> wanted{0};
    for (int t = first; t < first + count; ++t)
        wanted.push_back(1 + t);
    const std::string finalAttn = "mask_decoder.transformer.final_attn_token_to_image";
    TokenRows queries = selfAttentionBlock(dw, layer + "0", 0, tokens, tokens, heads);
    TokenRows z = imagePass(g, embedding.data_ptr<float>(), firstDense, nullptr, heads, nullptr, nullptr, nullptr,
                            tokenToImageQueries(dw, layer + "0.cross_attn_token_to_image", queries + tokens, heads));
    torch::Tensor keys = torch::empty({g.channels, g.n});  // blocks [C, kBlock], updated in place by each layer's pass
    for (int i = 0; i < c.decoderDepth; ++i) {
        const std::string p = layer + std::to_string(i);
        queries = queries + tokenToImageOutput(dw, p + ".cross_attn_token_to_image", z, heads);
        layerNormRows(dw, p + ".norm2", queries, 1e-5f);
        queries = queries + mlp(dw, {p + ".mlp.lin1", p + ".mlp.lin2"}, queries);
        layerNormRows(dw, p + ".norm3", queries, 1e-5f);
        // The image-to-token attention's terms and the next token-to-image attention's queries, both from these
        // queries: one on each of two threads (~0.1 ms each; the linear layers inside run on their caller's thread).
        // The next queries are known now because image-to-token attention changes only the image tokens, so one pass
        // over the image does both attentions.
        ImageToToken terms;
        TokenRows m, nextQueries;
        const auto tokenWork = [&](std::int64_t task) {
            if (task == 0) {
                terms = withTiles(
                    imageToTokenTerms(dw, p + ".cross_attn_image_to_token", queries + tokens, queries, heads));
            } else if (i + 1 < c.decoderDepth) {
                const std::string pn = layer + std::to_string(i + 1);
                nextQueries = selfAttentionBlock(dw, pn, i + 1, queries, tokens, heads);
                m = tokenToImageQueries(dw, pn + ".cross_attn_token_to_image", nextQueries + tokens, heads);
            } else {
                m = tokenToImageQueries(dw, finalAttn, selectRows(queries + tokens, wanted), heads);
            }
        };
        parallelTasks(2, [&](std::int64_t first, std::int64_t last) {
            for (std::int64_t task = first; task < last; ++task)
                tokenWork(task);
        });
        if (i + 1 < c.decoderDepth)
            queries = std::move(nextQueries);
        z = imagePass(g, i == 0 ? embedding.data_ptr<float>() : keys.data_ptr<float>(), i == 0 ? firstDense : Dense{},
                      &terms, heads, dw.values(p + ".norm4.weight"), dw.values(p + ".norm4.bias"),
                      keys.data_ptr<float>(), m);
    }
    TokenRows out = selectRows(queries, wanted) + tokenToImageOutput(dw, finalAttn, z, heads);
    layerNormRows(dw, "mask_decoder.transformer.norm_final_attn", out, 1e-5f);
    // One hypernetwork MLP per returned mask token (the rows [count, C/8] that reduce the upscaled channels to masks)
    // and the IoU head: independent small MLPs, shared out among the threads as whole tasks.
    std::vector<TokenRows> mlps(std::size_t(count + 1));
    parallelTasks(count + 1, [&](std::int64_t firstTask, std::int64_t lastTask) {
        for (std::int64_t t = firstTask; t < lastTask; ++t)
            mlps[std::size_t(t)] =
                t < count ? mlp(dw, "mask_decoder.output_hypernetworks_mlps." + std::to_string(first + t),
                                selectRows(out, {1 + t}), 3)
                          : mlp(dw, "mask_decoder.iou_prediction_head", selectRows(out, {0}), c.iouHeadDepth);
    });
    TokenRows hyper(count, mlps[0].cols);
    for (int t = 0; t < count; ++t)
        std::copy(mlps[std::size_t(t)].data(), mlps[std::size_t(t)].data() + hyper.cols, hyper.row(t));
    torch::Tensor masks = torch::empty({1, count, 4 * g.h, 4 * g.w});
    upscaleAndMask(g, keys.data_ptr<float>(), hyper, masks.data_ptr<float>());
    const TokenRows& iou = mlps[std::size_t(count)];
    torch::Tensor scores = torch::empty({1, count});
    std::copy(iou.data() + first, iou.data() + first + count, scores.data_ptr<float>());
    return {masks, scores};
}

}  // namespace camsight::ml::sam
