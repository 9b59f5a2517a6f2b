// The hand-written kernels (depthwise and stem convolutions, small-window attention, GELU) against LibTorch's own
// operators evaluated in double precision, on random data with the awkward cases: channel counts that are not
// multiples of 16, odd map sizes, stride 2 at the edges, partial row ranges, padded tokens and queries left out.

// Local
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
