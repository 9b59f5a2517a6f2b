// Time per image of CamSight's CAM methods on a TorchScript classifier, to compare with pytorch-grad-cam on the same
// weights and input (bench/run_cam.sh runs both). Writes each map as cs_<method>.npy beside the input.
//
// Usage: bench_cam DIR LAYER REPEATS THREADS METHOD...   (DIR from make_bench_classifier.py)

// Local
#include "core/io/Npy.h"
#include "core/ml/Cam.h"
#include "core/ml/Classifier.h"
#include "core/ml/Runtime.h"

// Std
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

int main(int argc, char** argv)
{
    using namespace camsight;
    if (argc < 6) {
        std::fprintf(stderr, "usage: bench_cam DIR LAYER REPEATS THREADS METHOD...\n");
        return 2;
    }
    const std::filesystem::path dir = argv[1];
    const std::string layer = argv[2];
    const int repeats = std::atoi(argv[3]);
    ml::initRuntime(std::atoi(argv[4]));
    const ml::Classifier model = ml::Classifier::load((dir / "resnet18_bench.pt").string());
    const io::NpyArray in = io::readNpy((dir / "input224.npy").string());
    const ml::FloatArray input({in.shape.begin(), in.shape.end()}, in.toFloat());
    for (int a = 5; a < argc; ++a) {
        const std::string name = argv[a];
        ml::CamOptions opt;
        opt.method = *ml::parseCamMethod(name);
        opt.layer = layer;
        ml::CamResult r = ml::computeCam(model, input, opt);  // warm-up (compiles the capture once)
        std::vector<double> ms;
        for (int i = 0; i < repeats; ++i) {
            const auto t0 = std::chrono::steady_clock::now();
            r = ml::computeCam(model, input, opt);
            ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
        }
        std::sort(ms.begin(), ms.end());
        std::string file = name;
        std::replace(file.begin(), file.end(), '+', 'p');
        io::writeNpy((dir / ("cs_" + file + ".npy")).string(), r.cam.data.data(), {224, 224});
        double diff = -1;
        const auto ref = dir / ("ref_" + file + ".npy");
        if (std::filesystem::exists(ref)) {
            const auto rv = io::readNpy(ref.string()).toFloat();
            diff = 0;
            for (std::size_t i = 0; i < rv.size() && i < r.cam.data.size(); ++i)
                diff = std::max(diff, double(std::fabs(rv[i] - r.cam.data[i])));
        }
        std::printf("camsight  %-10s median %9.2f ms  min %9.2f ms  (%d runs)", name.c_str(), ms[ms.size() / 2], ms.front(),
                    repeats);
        if (diff >= 0)
            std::printf("  max |camsight - reference| = %.2e", diff);
        std::printf("\n");
    }
    return 0;
}
