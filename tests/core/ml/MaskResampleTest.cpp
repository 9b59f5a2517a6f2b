// The separable mask post-processing against the chain of F.interpolate calls it replaces (Sam.postprocess_masks and
// MedSAM's single resize), on random low-resolution logits and image sizes that upsample, downsample and keep size.

// Local
#include "core/ml/internal/MaskResample.hpp"

// LibTorch
#include <torch/torch.h>

// Std
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

using namespace camsight;
namespace F = torch::nn::functional;

namespace {

torch::Tensor interpolate(const torch::Tensor& x, std::int64_t h, std::int64_t w)
{
    return F::interpolate(x, F::InterpolateFuncOptions()
                                 .size(std::vector<std::int64_t>{h, w})
                                 .mode(torch::kBilinear)
                                 .align_corners(false));
}

double maxAbs(const torch::Tensor& a) { return a.abs().max().item<double>(); }

}  // namespace

TEST(MaskResample, EqualsTheInterpolationChain)
{
    torch::manual_seed(5);
    // (original height, width) -> the resized image inside 1024 x 1024 by the longest side.
    const int sizes[][2] = {{333, 517}, {256, 256}, {768, 1024}, {1500, 2000}, {97, 1024}, {1024, 31}, {1, 1}};
    const torch::Tensor low = torch::randn({1, 1, 256, 256}) * 8;
    for (const auto& s : sizes) {
        const int h = s[0], w = s[1];
        const double scale = 1024.0 / std::max(h, w);
        const int ih = int(h * scale + 0.5), iw = int(w * scale + 0.5);
        torch::Tensor want = interpolate(low, 1024, 1024).narrow(2, 0, ih).narrow(3, 0, iw);
        want = interpolate(want, h, w)[0][0];
        const ml::MaskResampler r(256, 256, 1024, 1024, ih, iw, h, w);
        ASSERT_EQ(r.outHeight(), h);
        ASSERT_EQ(r.outWidth(), w);
        torch::Tensor got = torch::empty({h, w});
        std::vector<std::uint8_t> mask(std::size_t(h) * w);
        r.apply(low.contiguous().data_ptr<float>(), got.data_ptr<float>(), mask.data());
        const double err = maxAbs(got - want);
        std::printf("  %4d x %-4d (input %4d x %-4d) max abs difference %.2e of max %.1f\n", h, w, ih, iw, err, maxAbs(want));
        // LibTorch 1.13 computes the source index in double (then this is ~1e-7 relative, float rounding); versions
        // that round it to float first differ from it by up to ~1.5e-5 relative. A wrong tap or weight is far larger.
        EXPECT_LE(err, 2e-5 * maxAbs(want));
        std::size_t differing = 0;
        for (std::int64_t i = 0; i < got.numel(); ++i)
            differing += mask[std::size_t(i)] != (got.data_ptr<float>()[i] > 0);
        EXPECT_EQ(differing, 0u);
    }
    // MedSAM: one resize from the grid to the original size.
    const torch::Tensor prob = torch::sigmoid(low);
    const ml::MaskResampler single(256, 256, 0, 0, 0, 0, 333, 517);
    torch::Tensor got = torch::empty({333, 517});
    single.apply(prob.contiguous().data_ptr<float>(), got.data_ptr<float>());
    EXPECT_LE(maxAbs(got - interpolate(prob, 333, 517)[0][0]), 2e-5);
    EXPECT_THROW(ml::MaskResampler(256, 256, 1024, 1024, 1025, 10, 5, 5), std::invalid_argument);
    EXPECT_THROW(ml::MaskResampler(256, 256, 1024, 1024, 10, 10, 0, 5), std::invalid_argument);
}
