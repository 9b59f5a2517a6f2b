// The AMX float products (three bfloat16 parts per float, six part products) against LibTorch's product in double:
// the AMX result must be as close to the exact product as LibTorch's float product is, on random data with the
// awkward shapes (rows, columns and k that are not multiples of the 16 x 32 tiles, one tile, accumulation into an
// existing result with a row stride, B given transposed). Skipped, with a message, on CPUs without AMX.

// Local
#include "core/ml/internal/Amx.hpp"

// LibTorch
#include <torch/torch.h>

// Std
#include <gtest/gtest.h>

#include <cstdint>
#include <array>
#include <vector>

using namespace camsight::ml;

namespace {

double maxAbs(const torch::Tensor& a) { return a.abs().max().item<double>(); }

}  // namespace

TEST(Amx, SplitProductIsAsCloseToExactAsAFloatProduct)
{
    if (!amx::available())
        GTEST_SKIP() << "this CPU (or kernel) offers no AMX-BF16: the decoder runs its float kernels here";
    torch::manual_seed(21);
    struct Shape {
        std::int64_t m, n, k;
    };
    for (const Shape s : {Shape{56, 256, 256}, Shape{256, 256, 56}, Shape{256, 7, 256}, Shape{17, 33, 65},
                          Shape{1, 1, 1}, Shape{128, 250, 64}, Shape{40, 70, 1000}}) {
        for (const bool transposedB : {false, true}) {
            for (const bool accumulate : {false, true}) {
                // Values over several orders of magnitude, as activations after LayerNorm and softmax have.
                const torch::Tensor a = torch::randn({s.m, s.k}) * torch::exp(torch::randn({s.m, s.k}) * 2);
                const torch::Tensor b = torch::randn({s.k, s.n}) * torch::exp(torch::randn({s.k, s.n}) * 2);
                const std::int64_t ldc = s.n + 5;
                const torch::Tensor c0 = torch::randn({s.m, ldc});
                std::vector<std::uint16_t> pa(amx::packedSize(s.m, s.k)), pb(amx::packedSize(s.n, s.k));
                amx::packA(a.data_ptr<float>(), s.k, s.m, s.k, pa.data());
                const torch::Tensor bt = b.t().contiguous();
                if (transposedB)
                    amx::packBTransposed(bt.data_ptr<float>(), s.k, s.k, s.n, pb.data());
                else
                    amx::packB(b.data_ptr<float>(), s.n, s.k, s.n, pb.data());
                torch::Tensor c = c0.clone();
                amx::gemm(pa.data(), pb.data(), s.m, s.n, s.k, accumulate, c.data_ptr<float>(), ldc);
                const torch::Tensor base = accumulate ? c0.narrow(1, 0, s.n) : torch::zeros({s.m, s.n});
                const torch::Tensor exact =
                    base.to(torch::kDouble) + torch::mm(a.to(torch::kDouble), b.to(torch::kDouble));
                const torch::Tensor floatProduct = base + torch::mm(a, b);
                const double amxError = maxAbs(c.narrow(1, 0, s.n).to(torch::kDouble) - exact);
                const double floatError = maxAbs(floatProduct.to(torch::kDouble) - exact);
                // Within 3x of float BLAS's own error (both are float accumulations in different orders), and in
                // absolute terms at float's precision of the largest magnitudes involved.
                const double scale = maxAbs(torch::mm(a.abs().to(torch::kDouble), b.abs().to(torch::kDouble))) +
                                     maxAbs(base.to(torch::kDouble));
                EXPECT_LE(amxError, 3.0 * floatError + 1e-7 * scale)
                    << s.m << "x" << s.n << "x" << s.k << (transposedB ? " (B transposed)" : "")
                    << (accumulate ? " accumulating" : "") << ": float BLAS " << floatError;
                EXPECT_LT(amxError, 2e-6 * scale);
                // Columns past n in the strided result are untouched.
                EXPECT_TRUE(torch::equal(c.narrow(1, s.n, ldc - s.n), c0.narrow(1, s.n, ldc - s.n)));
            }
        }
    }
}

TEST(Amx, ThreePartProductsStayWithinTheirBoundAndReadTwoPlanes)
{
    if (!amx::available())
        GTEST_SKIP() << "this CPU (or kernel) offers no AMX-BF16: the decoder runs its float kernels here";
    torch::manual_seed(22);
    // The SAM upscaling's shapes (256 x 256 x 256, 128 x 256 x 64) and an odd one.
    const std::vector<std::array<std::int64_t, 3>> shapes{{256, 256, 256}, {128, 256, 64}, {17, 33, 65}};
    for (const auto& [m, n, k] : shapes) {
        const torch::Tensor a = torch::randn({m, k}) * torch::exp(torch::randn({m, k}));
        const torch::Tensor b = torch::randn({k, n}) * torch::exp(torch::randn({k, n}));
        amx::Tiles pa(amx::packedSize(m, k)), full(amx::packedSize(n, k));
        // B packed for Parts3 leaves its third plane alone: filled with bfloat16 NaNs, which any product would spread.
        amx::Tiles twoPlanes(amx::packedSize(n, k), 0xFFFF);
        amx::packA(a.data_ptr<float>(), k, m, k, pa.data());
        amx::packB(b.data_ptr<float>(), n, k, n, full.data());
        amx::packB(b.data_ptr<float>(), n, k, n, twoPlanes.data(), nullptr, 0, amx::Precision::Parts3);
        torch::Tensor c = torch::empty({m, n}), c2 = torch::empty({m, n});
        amx::gemm(pa.data(), full.data(), m, n, k, false, c.data_ptr<float>(), n, amx::Precision::Parts3);
        amx::gemm(pa.data(), twoPlanes.data(), m, n, k, false, c2.data_ptr<float>(), n, amx::Precision::Parts3);
        EXPECT_TRUE(torch::equal(c, c2)) << m << "x" << n << "x" << k;
        // Each product within ~3 * 2^-16 of itself (the part products left out), plus float accumulation.
        const torch::Tensor exact = torch::mm(a.to(torch::kDouble), b.to(torch::kDouble));
        const torch::Tensor scale = torch::mm(a.abs().to(torch::kDouble), b.abs().to(torch::kDouble));
        const double relative = ((c.to(torch::kDouble) - exact).abs() / scale).max().item<double>();
        EXPECT_LT(relative, 6e-5) << m << "x" << n << "x" << k;
        // And it is not float precision: the third parts matter (else Float would be wasted work).
        torch::Tensor cf = torch::empty({m, n});
        amx::gemm(pa.data(), full.data(), m, n, k, false, cf.data_ptr<float>(), n, amx::Precision::Float);
        const double floatRelative = ((cf.to(torch::kDouble) - exact).abs() / scale).max().item<double>();
        EXPECT_LT(floatRelative, 1e-6) << m << "x" << n << "x" << k;
        EXPECT_GT(relative, 4 * floatRelative) << m << "x" << n << "x" << k;
    }
}
