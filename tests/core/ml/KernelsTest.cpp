// The hand-written kernels (depthwise and stem convolutions, small-window attention, GELU, the SAM decoder's column
// LayerNorm, softmaxes and small products) against LibTorch's own operators evaluated in double precision, on random
// data with the awkward cases: channel counts that are not multiples of 16, odd map sizes, stride 2 at the edges,
// partial row ranges, padded tokens and queries left out, column tails, partial panels.

// Local
#include "core/ml/internal/DecoderKernels.hpp"
#include "core/ml/internal/Kernels.hpp"

// LibTorch
#include <torch/torch.h>

// Std
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <limits>
#include <vector>

using namespace camsight::ml;

namespace {

double maxAbs(const torch::Tensor& a) { return a.abs().max().item<double>(); }

}  // namespace

TEST(Kernels, DepthwiseEqualsGroupedConvolution)
{
    torch::manual_seed(11);
    for (const std::int64_t channels : {80, 20, 3}) {
        for (const int stride : {1, 2}) {
            const std::int64_t h = 13, w = 11, ho = (h - 1) / stride + 1, wo = (w - 1) / stride + 1;
            const torch::Tensor x = torch::randn({h, w, channels});
            const torch::Tensor kernel = torch::randn({3, 3, channels});
            const torch::Tensor bias = torch::randn({channels});
            const torch::Tensor expected =
                torch::conv2d(x.permute({2, 0, 1}).unsqueeze(0).to(torch::kDouble),
                              kernel.permute({2, 0, 1}).unsqueeze(1).to(torch::kDouble), bias.to(torch::kDouble), stride,
                              1, 1, channels)[0]
                    .permute({1, 2, 0});
            // Two calls: rows [0, 3) from the whole map, the rest from a buffer that starts at the first input row
            // they read (as the convolution bands hold only their own rows).
            torch::Tensor out = torch::full({ho, wo, channels}, std::numeric_limits<float>::quiet_NaN());
            depthwise3x3(x.data_ptr<float>(), 0, h, w, channels, kernel.data_ptr<float>(), bias.data_ptr<float>(), stride, 0,
                         3, out.data_ptr<float>());
            const std::int64_t firstRow = 3 * stride - 1;
            const torch::Tensor rest = x.narrow(0, firstRow, h - firstRow).contiguous();
            depthwise3x3(rest.data_ptr<float>(), firstRow, h, w, channels, kernel.data_ptr<float>(), bias.data_ptr<float>(),
                         stride, 3, ho - 3, out.data_ptr<float>() + 3 * wo * channels);
            const double error = maxAbs(out.to(torch::kDouble) - expected);
            EXPECT_LT(error, 1e-5) << channels << " channels, stride " << stride;
        }
    }
}

TEST(Kernels, StemConvolutionEqualsLibTorch)
{
    torch::manual_seed(12);
    for (const std::int64_t outChannels : {32, 8, 48}) {
        const std::int64_t channels = 3, h = 15, w = 12, ho = 8, wo = 6;
        const torch::Tensor x = torch::randn({channels, h, w});
        const torch::Tensor weight = torch::randn({outChannels, channels, 3, 3});
        const torch::Tensor bias = torch::randn({outChannels});
        const torch::Tensor expected = torch::conv2d(x.unsqueeze(0).to(torch::kDouble), weight.to(torch::kDouble),
                                                     bias.to(torch::kDouble), 2, 1)[0]
                                           .permute({1, 2, 0});
        const torch::Tensor packed = weight.permute({1, 2, 3, 0}).contiguous();  // [C, 3, 3, C']
        torch::Tensor out = torch::full({ho, wo, outChannels}, std::numeric_limits<float>::quiet_NaN());
        conv3x3Stride2(x.data_ptr<float>(), channels, h, w, packed.data_ptr<float>(), bias.data_ptr<float>(), outChannels,
                       0, 5, out.data_ptr<float>());
        conv3x3Stride2(x.data_ptr<float>(), channels, h, w, packed.data_ptr<float>(), bias.data_ptr<float>(), outChannels,
                       5, ho - 5, out.data_ptr<float>() + 5 * wo * outChannels);
        EXPECT_LT(maxAbs(out.to(torch::kDouble) - expected), 1e-5) << outChannels << " output channels";
    }
}

TEST(Kernels, WindowAttentionEqualsSoftmaxAttention)
{
    torch::manual_seed(13);
    struct Case {
        std::int64_t n, kd;
    };
    for (const Case c : {Case{49, 32}, Case{196, 32}, Case{12, 20}, Case{49, 16}}) {
        const std::int64_t n = c.n, kd = c.kd, np = paddedTokens(n);
        // Each token's [q | k | v] at a scattered place in a larger buffer, as the kernel reads them through pointers.
        const torch::Tensor store = torch::randn({n * 2, 3 * kd}) * 2;
        const torch::Tensor logitBias = torch::randn({n, n});
        const float scale = float(1.0 / std::sqrt(double(kd)));
        std::vector<const float*> rows(std::size_t(n), nullptr);
        torch::Tensor qkv = torch::empty({n, 3 * kd});
        for (std::int64_t j = 0; j < n; ++j) {
            const std::int64_t slot = (j * 7) % (2 * n);
            rows[std::size_t(j)] = store.data_ptr<float>() + slot * 3 * kd;
            qkv[j].copy_(store[slot]);
        }
        torch::Tensor bias = torch::full({n, np}, -std::numeric_limits<float>::infinity());
        bias.narrow(1, 0, n).copy_(logitBias);
        // Every third query is left out (a padded token): its output row must stay untouched.
        const float sentinel = 12345.0f;
        torch::Tensor out = torch::full({n, kd}, sentinel);
        std::vector<float*> outs(std::size_t(n), nullptr);
        for (std::int64_t i = 0; i < n; ++i)
            if (i % 3 != 1)
                outs[std::size_t(i)] = out.data_ptr<float>() + i * kd;
        std::vector<float> scratch(std::size_t(windowAttentionScratch(n, kd)));
        windowAttention(rows.data(), n, kd, kd, 2 * kd, scale, bias.data_ptr<float>(), outs.data(), scratch.data());

        const torch::Tensor d = qkv.to(torch::kDouble);
        const torch::Tensor q = d.narrow(1, 0, kd), k = d.narrow(1, kd, kd), v = d.narrow(1, 2 * kd, kd);
        const torch::Tensor expected =
            torch::softmax(torch::mm(q, k.t()) * double(scale) + logitBias.to(torch::kDouble), 1).mm(v);
        // The yardstick: the same attention by LibTorch in float32.
        const torch::Tensor f = qkv.narrow(1, 0, kd), g = qkv.narrow(1, kd, kd), h = qkv.narrow(1, 2 * kd, kd);
        const double torchError =
            maxAbs(torch::softmax(torch::mm(f, g.t()) * scale + logitBias, 1).mm(h).to(torch::kDouble) - expected);
        double error = 0;
        for (std::int64_t i = 0; i < n; ++i) {
            if (i % 3 == 1)
                EXPECT_TRUE(out[i].eq(sentinel).all().item<bool>()) << "query " << i << " was left out but written";
            else
                error = std::max(error, maxAbs(out[i].to(torch::kDouble) - expected[i]));
        }
        std::printf("  window attention n %lld kd %lld: max abs error %.2e (LibTorch float32: %.2e)\n", (long long)n,
                    (long long)kd, error, torchError);
        // float32 rounding, within a small factor of LibTorch's own float32 error on the same data
        EXPECT_LT(error, std::max(3 * torchError, 1e-6)) << "n " << n << ", kd " << kd;
    }
}

TEST(Kernels, RelativeSoftmaxEqualsBiasedSoftmax)
{
    torch::manual_seed(15);
    struct Case {
        std::int64_t rows, h, w;
    };
    // vit_b's 64 x 64 grid, and a grid whose rows are not a multiple of 16 wide (the scalar tails)
    for (const Case c : {Case{128, 64, 64}, Case{7, 5, 20}}) {
        const std::int64_t n = c.h * c.w;
        const torch::Tensor logits = torch::randn({c.rows, n}) * 6;
        const torch::Tensor relH = torch::randn({c.rows, c.h}) * 3, relW = torch::randn({c.rows, c.w}) * 3;
        const torch::Tensor biased = logits.to(torch::kDouble).view({c.rows, c.h, c.w}) +
                                     relH.to(torch::kDouble).unsqueeze(2) + relW.to(torch::kDouble).unsqueeze(1);
        const torch::Tensor expected = torch::softmax(biased.view({c.rows, n}), 1);
        torch::Tensor weights = logits.clone();
        torch::Tensor norm = torch::empty({c.rows});
        relativeSoftmaxRows(weights.data_ptr<float>(), c.rows, c.h, c.w, relH.data_ptr<float>(), relW.data_ptr<float>(),
                            norm.data_ptr<float>());
        const torch::Tensor probabilities = weights.to(torch::kDouble) * norm.to(torch::kDouble).unsqueeze(1);
        // relative to the largest probability of each row (float32 rounding of the logits, ~1e-6 of values up to ~30)
        const double error = maxAbs((probabilities - expected) / expected.amax(1, true));
        EXPECT_LT(error, 1e-5) << c.rows << " rows of " << c.h << " x " << c.w;
        // the unnormalised weights are exp(l - max): the largest is exactly 1
        EXPECT_TRUE(weights.amax(1).eq(1.0f).all().item<bool>());
    }
}

TEST(Kernels, GeluEqualsTheErfForm)
{
    torch::manual_seed(14);
    torch::Tensor x = torch::cat({torch::randn({1000}) * 4, torch::linspace(-12, 12, 2001),
                                  torch::tensor({0.0f, -0.0f, 1e-30f, -1e-30f, 30.0f, -30.0f, 1e6f, -1e6f})});
    const torch::Tensor expected = torch::gelu(x.to(torch::kDouble));
    torch::Tensor y = x.clone();
    const std::int64_t count = y.numel() - 3;  // not a multiple of 16; the last three stay as they are
    geluInPlace(y.data_ptr<float>(), count);
    const double error = maxAbs(y.narrow(0, 0, count).to(torch::kDouble) - expected.narrow(0, 0, count));
    // erf within 3e-7 (Abramowitz & Stegun 7.1.28), times x / 2, plus float32 rounding of values up to 12
    EXPECT_LT(error, 1.5e-6);
    EXPECT_TRUE(y.narrow(0, count, 3).equal(x.narrow(0, count, 3)));
}

TEST(Kernels, CombinedGeluRowsEqualGeluThenProduct)
{
    torch::manual_seed(19);
    // 3 outputs (SAM's multimask), 5 (a full and a partial group of four), 1; 75 columns (a vector and a scalar tail)
    // of rows with stride 90.
    for (const std::int64_t outputs : {3, 5, 1}) {
        const std::int64_t count = 32, ld = 90, cols = 75;
        const torch::Tensor rows = torch::randn({count, ld}) * 3, bias = torch::randn({count}),
                            coeffs = torch::randn({outputs, count});
        torch::Tensor out = torch::full({outputs, cols + 3}, std::numeric_limits<float>::quiet_NaN());
        combineGeluRows(rows.data_ptr<float>(), ld, count, bias.data_ptr<float>(), coeffs.data_ptr<float>(), outputs,
                        cols, out.data_ptr<float>(), cols + 3);
        const torch::Tensor activations =
            torch::gelu((rows.narrow(1, 0, cols) + bias.unsqueeze(1)).to(torch::kDouble));
        const torch::Tensor expected = torch::mm(coeffs.to(torch::kDouble), activations);
        // GELU within 1.5e-6 (GeluEqualsTheErfForm) times 32 coefficients of ~1, plus float sums of values up to ~30
        EXPECT_LT(maxAbs(out.narrow(1, 0, cols).to(torch::kDouble) - expected), 3e-5) << outputs << " outputs";
        EXPECT_TRUE(out.narrow(1, cols, 3).isnan().all().item<bool>());  // nothing written past the columns
    }
}

TEST(Kernels, ColumnLayerNormEqualsLayerNormOverChannels)
{
    torch::manual_seed(15);
    // rows = channels; columns not a multiple of 16 (a vector tail and a scalar tail); blocks inside wider maps.
    for (const std::int64_t cols : {77, 32, 5}) {
        const std::int64_t rows = 40, ld = 100;
        const torch::Tensor in = torch::randn({rows, ld}) * 3 + 1, residual = torch::randn({rows, ld});
        const torch::Tensor bias = torch::randn({rows}), gamma = torch::randn({rows}), beta = torch::randn({rows});
        const torch::Tensor plus = torch::randn({rows, ld});
        const torch::Tensor x = (in + residual + bias.unsqueeze(1)).narrow(1, 0, cols).to(torch::kDouble);
        const torch::Tensor expected =
            torch::layer_norm(x.t(), {rows}, gamma.to(torch::kDouble), beta.to(torch::kDouble), 1e-5).t();
        torch::Tensor work = in.clone(), out = torch::full({rows, ld}, std::numeric_limits<float>::quiet_NaN());
        torch::Tensor plusOut = torch::empty({rows, cols});
        ColumnNorm a;
        a.in = work.data_ptr<float>();
        a.ldIn = ld;
        a.residual = residual.data_ptr<float>();
        a.ldResidual = ld;
        a.rowBias = bias.data_ptr<float>();
        a.gamma = gamma.data_ptr<float>();
        a.beta = beta.data_ptr<float>();
        a.out = out.data_ptr<float>();
        a.ldOut = ld;
        a.plus = plus.data_ptr<float>();
        a.ldPlus = ld;
        a.plusOut = plusOut.data_ptr<float>();
        a.ldPlusOut = cols;
        layerNormColumns(a, rows, cols);
        const torch::Tensor got = out.narrow(1, 0, cols).to(torch::kDouble);
        EXPECT_LT(maxAbs(got - expected), 2e-5) << cols << " columns";
        EXPECT_LT(maxAbs(plusOut.to(torch::kDouble) - expected - plus.narrow(1, 0, cols)), 2e-5) << cols << " columns";
        EXPECT_TRUE(out.narrow(1, cols, ld - cols).isnan().all().item<bool>());  // nothing written past the block
        // Without residual and bias, in place, the plain LayerNorm.
        torch::Tensor plain = in.narrow(1, 0, cols).contiguous();
        ColumnNorm b;
        b.in = plain.data_ptr<float>();
        b.ldIn = cols;
        b.gamma = gamma.data_ptr<float>();
        b.beta = beta.data_ptr<float>();
        b.eps = 1e-6f;
        b.out = plain.data_ptr<float>();
        b.ldOut = cols;
        layerNormColumns(b, rows, cols);
        const torch::Tensor plainExpected = torch::layer_norm(in.narrow(1, 0, cols).to(torch::kDouble).t(), {rows},
                                                              gamma.to(torch::kDouble), beta.to(torch::kDouble), 1e-6).t();
        EXPECT_LT(maxAbs(plain.to(torch::kDouble) - plainExpected), 2e-5) << cols << " columns";
    }
}

TEST(Kernels, ColumnGroupSoftmaxEqualsSoftmaxPerHead)
{
    torch::manual_seed(16);
    for (const std::int64_t cols : {70, 16, 3}) {
        const std::int64_t heads = 8, tokens = 7, ld = 80;
        const torch::Tensor s = torch::randn({heads * tokens, ld}) * 5, bias = torch::randn({heads * tokens}) * 5;
        const torch::Tensor expected =
            torch::softmax((s + bias.unsqueeze(1)).narrow(1, 0, cols).to(torch::kDouble).view({heads, tokens, cols}), 1)
                .view({heads * tokens, cols});
        torch::Tensor got = s.clone();
        softmaxColumnGroups(got.data_ptr<float>(), ld, heads, tokens, cols, bias.data_ptr<float>());
        EXPECT_LT(maxAbs(got.narrow(1, 0, cols).to(torch::kDouble) - expected), 1e-6) << cols << " columns";
        EXPECT_TRUE(got.narrow(1, cols, ld - cols).equal(s.narrow(1, cols, ld - cols)));
    }
}

TEST(Kernels, OnlineSoftmaxOverBlocksEqualsOneSoftmax)
{
    torch::manual_seed(17);
    // Attention of 9 query rows over 300 keys with 20-dimensional values, the keys taken in blocks of unequal sizes
    // (the running maxima rise from block to block: the logits grow along the keys).
    const std::int64_t rows = 9, n = 300, dim = 20;
    const torch::Tensor logits = torch::randn({rows, n}) * 4 + torch::linspace(0, 12, n);
    const torch::Tensor values = torch::randn({n, dim});
    const torch::Tensor expected = torch::mm(torch::softmax(logits.to(torch::kDouble), 1), values.to(torch::kDouble));
    std::vector<float> runMax(rows, -std::numeric_limits<float>::infinity()), runSum(rows, 0.0f);
    torch::Tensor acc = torch::zeros({rows, dim});
    for (const auto& [begin, size] : std::vector<std::pair<std::int64_t, std::int64_t>>{{0, 100}, {100, 37}, {137, 163}}) {
        torch::Tensor block = logits.narrow(1, begin, size).contiguous();
        softmaxRowsOnline(block.data_ptr<float>(), size, rows, size, runMax.data(), runSum.data(), acc.data_ptr<float>(),
                          dim, dim);
        acc += torch::mm(block, values.narrow(0, begin, size));
    }
    const torch::Tensor got = acc.to(torch::kDouble) / torch::tensor(std::vector<double>(runSum.begin(), runSum.end())).unsqueeze(1);
    EXPECT_LT(maxAbs(got - expected), 1e-5);
    for (std::int64_t r = 0; r < rows; ++r)
        EXPECT_FLOAT_EQ(runMax[std::size_t(r)], logits[r].max().item<float>());
}

TEST(Kernels, SmallLinearEqualsProducts)
{
    torch::manual_seed(18);
    // 7, 9 and 1 token rows (a full and a partial group of eight); 70 outputs (a partial last panel), split in two calls.
    for (const auto& [tokens, in] : std::vector<std::pair<std::int64_t, std::int64_t>>{{7, 50}, {9, 50}, {1, 50}, {7, 2048}}) {
        const std::int64_t outputs = 70, panels = 3;
        const torch::Tensor x = torch::randn({tokens, in}), weight = torch::randn({outputs, in}), bias = torch::randn({outputs});
        torch::Tensor packed = torch::zeros({panels * 32, in});
        packed.narrow(0, 0, outputs).copy_(weight);
        packed = packed.view({panels, 32, in}).transpose(1, 2).contiguous();
        torch::Tensor paddedBias = torch::zeros({panels * 32});
        paddedBias.narrow(0, 0, outputs).copy_(bias);
        torch::Tensor y = torch::full({tokens, outputs}, std::numeric_limits<float>::quiet_NaN());
        smallLinear(x.data_ptr<float>(), tokens, in, packed.data_ptr<float>(), paddedBias.data_ptr<float>(), outputs, 0, 1,
                    y.data_ptr<float>());
        smallLinear(x.data_ptr<float>(), tokens, in, packed.data_ptr<float>(), paddedBias.data_ptr<float>(), outputs, 1,
                    panels, y.data_ptr<float>());
        const torch::Tensor expected =
            torch::linear(x.to(torch::kDouble), weight.to(torch::kDouble), bias.to(torch::kDouble));
        // Values up to ~4 sqrt(in); runs of 32 summed in double keep the error near one float rounding of the result.
        const double error = maxAbs(y.to(torch::kDouble) - expected), scale = maxAbs(expected);
        EXPECT_LT(error, 1e-6 * scale) << tokens << " rows of " << in;
        std::printf("  smallLinear %lld x %lld: max abs error %.2e of max %.1f\n", static_cast<long long>(tokens),
                    static_cast<long long>(in), error, scale);
    }
}

TEST(Kernels, AccumulateDotsEqualsAProductWithATransposedMatrix)
{
    // The decoder's attention weights [heads * tokens, pixels] times a block's values [C, pixels]^T, added to what the
    // output holds: every remainder of the six-row and four-column tiles, k with a tail past the vectors, row strides.
    torch::manual_seed(19);
    struct Shape {
        std::int64_t m, n, k;
    };
    for (const Shape s : {Shape{56, 256, 256}, Shape{32, 256, 256}, Shape{11, 7, 37}, Shape{1, 3, 5}, Shape{5, 9, 16}}) {
        const std::int64_t lda = s.k + 3, ldb = s.k + 1, ldOut = s.n + 2;
        const torch::Tensor a = torch::rand({s.m, lda}), b = torch::randn({s.n, ldb}), out0 = torch::randn({s.m, ldOut});
        torch::Tensor out = out0.clone();
        accumulateDots(a.data_ptr<float>(), lda, s.m, b.data_ptr<float>(), ldb, s.n, s.k, out.data_ptr<float>(), ldOut);
        const torch::Tensor expected =
            out0.narrow(1, 0, s.n).to(torch::kDouble) +
            torch::mm(a.narrow(1, 0, s.k).to(torch::kDouble), b.narrow(1, 0, s.k).to(torch::kDouble).t());
        const double error = maxAbs(out.narrow(1, 0, s.n).to(torch::kDouble) - expected);
        EXPECT_LT(error, 2e-6 * std::sqrt(double(s.k)) * std::max(1.0, maxAbs(expected)))
            << s.m << " x " << s.n << " x " << s.k;
        EXPECT_TRUE(torch::equal(out.narrow(1, s.n, ldOut - s.n), out0.narrow(1, s.n, ldOut - s.n)));  // left alone
    }
}
