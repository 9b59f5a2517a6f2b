// Automatic mask generation (32 x 32 points, 64 per batch: SamAutomaticMaskGenerator's defaults) with the full-size
// random-weight vit_b and vit_t that bench_sam writes, on its 1024 x 768 image. Time per image, encoder included.
// bench/reference_automask.py times the reference generator on the same files.
//
// Usage: bench_automask DIR [THREADS] [VARIANTS...]   (DIR as written by bench_sam)

// Local
#include "core/io/Npy.h"
#include "core/ml/Runtime.h"
#include "core/ml/SamAutoMask.h"

// Std
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

using namespace camsight;
namespace fs = std::filesystem;

int main(int argc, char** argv)
{
    if (argc < 2) {
        std::fprintf(stderr, "usage: bench_automask DIR [THREADS] [VARIANTS...]\n");
        return 2;
    }
    const fs::path dir = argv[1];
    ml::initRuntime(argc > 2 ? std::atoi(argv[2]) : 2);
    const io::NpyArray a = io::readNpy((dir / "image.npy").string());
    ml::RgbImage image;
    image.height = int(a.shape.at(0));
    image.width = int(a.shape.at(1));
    image.rgb.assign(a.bytes.begin(), a.bytes.end());
    for (int i = 3; i < argc; ++i) {
        const std::string v = argv[i];
        const ml::SamModel sam = ml::SamModel::load((dir / (v + "_random.pth")).string());
        const ml::SamEmbedding e = sam.encode(image);  // warm-up
        const auto t0 = std::chrono::steady_clock::now();
        const auto masks = ml::generateMasks(sam, image);
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::printf("camsight %s  automatic masks, 32 x 32 points: %.2f s per image (%zu masks kept)\n", v.c_str(), s,
                    masks.size());
    }
    return 0;
}
