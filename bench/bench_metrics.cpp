// All localization metrics on one 512x512 heatmap/mask pair, on one core: median time of camsight::metrics::evaluate.
// Writes the pair as .npy so that bench/reference_metrics.py times the reference formulas (numpy + scikit-learn,
// as Quantus, torcheval and the seed notebook compute them) on the very same data.
//
// Usage: bench_metrics [OUT_DIR] [REPEATS]

// Local
#include "core/io/Npy.h"
#include "core/metrics/RankOrder.h"
#include "core/metrics/Report.h"

// Std
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

int main(int argc, char** argv)
{
    const std::string outDir = argc > 1 ? argv[1] : "";
    const int repeats = argc > 2 ? std::atoi(argv[2]) : 200;
    constexpr std::size_t W = 512, H = 512;

    // A Grad-CAM-like map: a 16x16 non-negative grid bilinearly upsampled, plus fine noise (few exact ties), and an
    // elliptic lesion mask overlapping its strongest lobe.
    std::mt19937 rng(42);
    std::uniform_real_distribution<float> u(0.f, 1.f);
    std::vector<float> grid(16 * 16);
    for (auto& g : grid)
        g = u(rng) * u(rng);
    grid[5 * 16 + 9] = 1.5f;
    std::vector<float> heat(W * H);
    std::vector<std::uint8_t> mask(W * H);
    for (std::size_t y = 0; y < H; ++y)
        for (std::size_t x = 0; x < W; ++x) {
            const float gx = std::clamp((x + 0.5f) / 32.f - 0.5f, 0.f, 15.f), gy = std::clamp((y + 0.5f) / 32.f - 0.5f, 0.f, 15.f);
            const int x0 = std::min(int(gx), 14), y0 = std::min(int(gy), 14);
            const float fx = gx - x0, fy = gy - y0;
            const float v = (1 - fy) * ((1 - fx) * grid[y0 * 16 + x0] + fx * grid[y0 * 16 + x0 + 1]) +
                            fy * ((1 - fx) * grid[(y0 + 1) * 16 + x0] + fx * grid[(y0 + 1) * 16 + x0 + 1]);
            heat[y * W + x] = v + 1e-4f * u(rng);
            const double dx = (x - 300.0) / 70.0, dy = (y - 180.0) / 50.0;
            mask[y * W + x] = dx * dx + dy * dy <= 1.0;
        }
    if (!outDir.empty()) {
        camsight::io::writeNpy(outDir + "/bench_heatmap.npy", heat.data(), {H, W});
        camsight::io::writeNpy(outDir + "/bench_mask.npy", mask.data(), {H, W});
    }

    const camsight::metrics::MapShape shape{W, H, 1, 0.7, 0.7, 1.0};
    camsight::metrics::Report report = camsight::metrics::evaluate(heat.data(), mask.data(), shape);  // warm-up
    std::vector<double> ms;
    for (int i = 0; i < repeats; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        report = camsight::metrics::evaluate(heat.data(), mask.data(), shape);
        ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(ms.begin(), ms.end());
    std::printf("camsight evaluate (all %zu metrics, 512x512, 1 thread): median %.3f ms, min %.3f ms, p90 %.3f ms over %d runs\n",
                report.values.size(), ms[ms.size() / 2], ms.front(), ms[ms.size() * 9 / 10], repeats);
    const camsight::metrics::Report full = report;  // on the pair the reference also sees
    // Brush strokes change only the mask: the heatmap's order is computed once and reused.
    const camsight::metrics::RankOrder order(heat.data(), heat.size());
    std::vector<double> cached;
    for (int i = 0; i < repeats; ++i) {
        mask[(i * 7919) % mask.size()] ^= 1;  // a one-voxel edit, as a stroke would make
        const auto t0 = std::chrono::steady_clock::now();
        report = camsight::metrics::evaluate(heat.data(), mask.data(), shape, {}, &order);
        cached.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(cached.begin(), cached.end());
    std::printf("camsight evaluate with the heatmap order cached (per brush stroke): median %.3f ms, min %.3f ms\n",
                cached[cached.size() / 2], cached.front());
    for (const char* k : {"AUC", "auprc_torcheval", "auc_judd", "TopKIntersection", "RelevanceRankAccuracy",
                          "RelevanceMassAccuracy", "PointingGame", "dice_thr0p5"})
        std::printf("  %s = %.10g\n", k, full.get(k));
    return 0;
}
