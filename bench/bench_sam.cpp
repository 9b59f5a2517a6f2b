// SAM speed on this machine with full-size models and random weights made here (nothing to download):
// vit_b (SAM) and vit_t (MobileSAM). Reports the image encoder time, the decode time per click (prompt encoder, mask
// decoder, upsampling to the original size), the encoder's FLOPs against the measured matrix-multiply rate, and
// writes the weights as torch.save files plus the test image so that bench/reference_sam.py can time the reference
// SamPredictor on the very same weights.
//
// Usage: bench_sam OUT_DIR [THREADS] [ENCODER_REPEATS] [CLICKS] [VARIANTS...]   (variants: vit_b vit_t)

// Local
#include "core/io/Npy.h"
#include "core/ml/Runtime.h"
#include "core/ml/Sam.h"
#include "core/ml/internal/Checkpoint.hpp"
#include "core/ml/internal/SamNet.hpp"

// LibTorch
#include <torch/csrc/autograd/profiler_legacy.h>

// Std
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

using namespace camsight;
namespace fs = std::filesystem;

namespace {

double msSince(std::chrono::steady_clock::time_point t0)
{
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

double median(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

ml::sam::Config officialConfig(const std::string& variant)
{
    ml::sam::Config c;
    c.variant = variant;
    c.outChans = 256;
    c.maskInChans = 16;
    c.decoderDepth = 2;
    c.decoderMlpDim = 2048;
    c.iouHiddenDim = 256;
    if (variant == "vit_t") {
        c.tinyVit = true;
        c.tinyDims = {64, 128, 160, 320};
        c.tinyDepths = {2, 2, 6, 2};
        c.tinyHeads = {0, 4, 5, 10};
        c.tinyWindows = {0, 7, 14, 7};
    } else {
        c.embedDim = 768;
        c.depth = 12;
        c.heads = 12;
        c.globalBlocks = {2, 5, 8, 11};
    }
    return c;
}

// Random weights with the golden files' scheme: norms near 1, weights N(0, 1/fan_in), small biases.
ml::StateDict randomWeights(const ml::sam::Config& c)
{
    torch::manual_seed(1);
    ml::StateDict sd;
    for (const auto& [key, shape] : ml::sam::expectedKeys(c)) {
        torch::Tensor t;
        const bool isNorm = key.find("norm") != std::string::npos || key.find(".bn.") != std::string::npos ||
                            key.find("neck.1") != std::string::npos || key.find("neck.3") != std::string::npos ||
                            key.find("output_upscaling.1") != std::string::npos || key.find("mask_downscaling.1") != std::string::npos ||
                            key.find("mask_downscaling.4") != std::string::npos;
        if (key.find("num_batches_tracked") != std::string::npos)
            t = torch::zeros(shape, torch::kLong);
        else if (key.find("running_var") != std::string::npos)
            t = torch::rand(shape) + 0.5;
        else if (isNorm && key.size() > 7 && key.compare(key.size() - 7, 7, ".weight") == 0)
            t = torch::rand(shape) * 0.8 + 0.6;
        else if (key.find("rel_pos") != std::string::npos || key.find("attention_biases") != std::string::npos)
            t = torch::randn(shape) * 0.25;
        else if (key.find("pos_embed") != std::string::npos || key.find("gaussian_matrix") != std::string::npos ||
                 key.find("embed") != std::string::npos || key.find("token") != std::string::npos)
            t = torch::randn(shape) * 0.5;
        else if (shape.size() >= 2) {
            std::int64_t fanIn = 1;
            for (std::size_t d = 1; d < shape.size(); ++d)
                fanIn *= shape[d];
            t = torch::randn(shape) / std::sqrt(double(fanIn));
        } else
            t = torch::randn(shape) * 0.1;
        sd.emplace_back(key, t);
    }
    return sd;
}

// Multiply-add FLOPs (x2) of the ViT encoder at 1024 x 1024 (linear layers, attention products, convolutions).
double vitEncoderFlops(const ml::sam::Config& c)
{
    const double n = 4096, d = c.embedDim;
    double f = 2 * n * d * 3 * 16 * 16;  // patch embedding
    for (int i = 0; i < c.depth; ++i) {
        f += 2 * n * d * (3 * d + d + 8 * d);  // qkv, proj, mlp
        const bool global = std::find(c.globalBlocks.begin(), c.globalBlocks.end(), i) != c.globalBlocks.end();
        const double tokens = global ? n : 196, windows = global ? 1 : 25;
        f += windows * 4 * tokens * tokens * d;  // q k^T and attn v over all heads
    }
    f += 2 * n * d * 256 + 2 * n * 256 * 256 * 9;  // neck
    return f;
}

// Multiply-add FLOPs (x2) of MobileSAM's TinyViT at 1024 x 1024, as upstream computes it (attention over padded
// windows included): the patch embedding's two stride-2 convolutions, MBConv blocks (expansion 4), PatchMerging,
// the blocks' qkv, attention products, projection, local 3x3 convolution and MLP (ratio 4), and the neck.
double tinyVitEncoderFlops(const ml::sam::Config& c)
{
    const std::vector<int>& dims = c.tinyDims;
    const double d0 = dims[0];
    double side = c.imageSize / 2.0;
    double f = 2 * side * side * (d0 / 2) * 3 * 9;
    side /= 2;
    f += 2 * side * side * d0 * (d0 / 2) * 9;
    double px = side * side;
    f += c.tinyDepths[0] * 2 * px * (2 * d0 * 4 * d0 + 4 * d0 * 9);
    for (std::size_t i = 0; i + 1 < dims.size(); ++i) {
        const double cin = dims[i], dim = dims[i + 1];
        const double outPx = i + 2 == dims.size() ? px : px / 4;  // the merging into the last stage keeps the size
        f += 2 * px * cin * dim + 2 * outPx * dim * 9 + 2 * outPx * dim * dim;
        px = outPx;
        const double ws = c.tinyWindows[i + 1], windows = std::pow(std::ceil(std::sqrt(px) / ws), 2), n = ws * ws;
        f += c.tinyDepths[i + 1] * (2 * px * dim * 12 * dim + windows * 4 * n * n * dim + 2 * px * dim * 9);
    }
    return f + 2 * px * dims.back() * 256 + 2 * px * 256 * 256 * 9;
}

double matmulRate()
{
    const torch::Tensor a = torch::randn({2048, 2048}), b = torch::randn({2048, 2048});
    torch::mm(a, b);
    std::vector<double> t;
    for (int i = 0; i < 5; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        torch::mm(a, b);
        t.push_back(msSince(t0));
    }
    return 2.0 * 2048 * 2048 * 2048 / (median(t) * 1e-3) / 1e9;  // GFLOP/s
}

}  // namespace

int main(int argc, char** argv)
{
    if (argc < 2) {
        std::fprintf(stderr, "usage: bench_sam OUT_DIR [THREADS] [ENCODER_REPEATS] [CLICKS] [VARIANTS...]\n");
        return 2;
    }
    const fs::path out = argv[1];
    const int threads = argc > 2 ? std::atoi(argv[2]) : 0;
    const int repeats = argc > 3 ? std::atoi(argv[3]) : 3;
    const int clicks = argc > 4 ? std::atoi(argv[4]) : 20;
    std::vector<std::string> variants;
    for (int i = 5; i < argc; ++i)
        variants.push_back(argv[i]);
    if (variants.empty())
        variants = {"vit_b", "vit_t"};
    const auto info = ml::initRuntime(threads);
    fs::create_directories(out);

    // A 1024 x 768 RGB test image (soft shapes and shading), as the reference will see it.
    ml::SamImage image;
    image.width = 1024;
    image.height = 768;
    image.rgb.resize(std::size_t(image.width) * image.height * 3);
    for (int y = 0; y < image.height; ++y)
        for (int x = 0; x < image.width; ++x) {
            const double d = std::hypot(x - 600.0, y - 350.0);
            const double v = 60 + 0.05 * x + (d < 180 ? 120 * (1 - d / 180) : 0);
            for (int c = 0; c < 3; ++c)
                image.rgb[(std::size_t(y) * image.width + x) * 3 + c] = static_cast<std::uint8_t>(std::min(255.0, v + 10 * c));
        }
    io::writeNpy((out / "image.npy").string(), image.rgb.data(), {std::size_t(image.height), std::size_t(image.width), 3});

    const double rate = matmulRate();
    std::printf("threads %d, BLAS %s, 2048x2048 sgemm %.0f GFLOP/s\n", info.intraOpThreads, info.blasName.c_str(), rate);
    for (const std::string& v : variants) {
        const ml::sam::Config config = officialConfig(v);
        const std::string ckpt = (out / (v + "_random.pth")).string();
        ml::saveCheckpoint(randomWeights(config), ckpt);
        auto t0 = std::chrono::steady_clock::now();
        const ml::SamModel sam = ml::SamModel::load(ckpt);
        const double loadMs = msSince(t0);
        ml::SamEmbedding e = sam.encode(image);  // warm-up
        if (const char* trace = std::getenv("CAMSIGHT_PROFILE")) {  // one more encoder run under the profiler
            torch::autograd::profiler::RecordProfile encoderProfile(std::string(trace) + "." + v + ".encoder.json");
            e = sam.encode(image);
        }
        std::vector<double> enc;
        for (int i = 0; i < repeats; ++i) {
            t0 = std::chrono::steady_clock::now();
            e = sam.encode(image);
            enc.push_back(msSince(t0));
        }
        // `clicks` timed clicks (after one untimed), one positive point each, multimask; decode(click, prompts) runs
        // one of them.
        const auto timeClicks = [&](bool fullLogits, const auto& decode) {
            std::vector<double> times;
            for (int i = 0; i < clicks + 1; ++i) {
                ml::SamPrompts p;
                p.points.push_back({300.0 + 20 * (i % 10), 200.0 + 15 * (i % 7), 1});
                p.multimask = true;
                p.fullLogits = fullLogits;
                t0 = std::chrono::steady_clock::now();
                decode(p);
                if (i > 0)
                    times.push_back(msSince(t0));
            }
            return times;
        };
        ml::SamResult r;
        // CAMSIGHT_PROFILE=prefix: the clicks (and above, one encoder run) under LibTorch's profiler (Chrome traces of every
        // operator the calling thread runs).
        std::unique_ptr<torch::autograd::profiler::RecordProfile> profile;
        if (const char* trace = std::getenv("CAMSIGHT_PROFILE"))
            profile = std::make_unique<torch::autograd::profiler::RecordProfile>(std::string(trace) + "." + v + ".json");
        const std::vector<double> dec = timeClicks(true, [&](const ml::SamPrompts& p) { r = sam.decode(e, p); });
        profile.reset();
        // The same clicks decoded into one result object, as an interactive client does (its arrays are reused).
        ml::SamResult reused;
        const std::vector<double> decReused =
            timeClicks(true, [&](const ml::SamPrompts& p) { sam.decode(e, p, reused); });
        if (reused.logits.data != r.logits.data)
            std::printf("warning: the reused result differs from the last click's\n");
        // And as an interactive client that shows masks decodes: into a reused result, without the original-size float
        // logits (SamPrompts::fullLogits off: masks, IoU and low-resolution logits, what SamPredictor.predict returns).
        const std::vector<double> decMasks =
            timeClicks(false, [&](const ml::SamPrompts& p) { sam.decode(e, p, reused); });
        if (reused.masks != r.masks)
            std::printf("warning: the masks-only result differs from the last click's\n");
        std::printf("camsight  %s  load %.0f ms  encoder median %.0f ms (min %.0f, %d runs)  decode per click median %.2f ms "
                    "(min %.2f, %d clicks, 3 masks at 1024x768); into a reused result median %.2f ms (min %.2f); "
                    "masks only, reused median %.2f ms (min %.2f)\n",
                    v.c_str(), loadMs, median(enc), *std::min_element(enc.begin(), enc.end()), repeats, median(dec),
                    *std::min_element(dec.begin(), dec.end()), clicks, median(decReused),
                    *std::min_element(decReused.begin(), decReused.end()), median(decMasks),
                    *std::min_element(decMasks.begin(), decMasks.end()));
        {
            const double flops = config.tinyVit ? tinyVitEncoderFlops(config) : vitEncoderFlops(config);
            std::printf("          %s encoder %.0f GFLOP; at the measured sgemm rate %.0f ms; measured / that = %.2f\n",
                        v.c_str(), flops / 1e9, flops / (rate * 1e9) * 1e3, median(enc) / (flops / (rate * 1e9) * 1e3));
        }
        io::writeNpy((out / (v + "_cs_low_res.npy")).string(), r.lowResLogits.data.data(), {3, 256, 256});
        std::vector<std::size_t> shape(e.features.shape.begin(), e.features.shape.end());
        io::writeNpy((out / (v + "_cs_embedding.npy")).string(), e.features.data.data(), shape);
    }
    return 0;
}
