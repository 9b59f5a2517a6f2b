// Local
#include "app/cli/Command.h"
#include "app/cli/Json.h"
#include "core/io/Npy.h"
#include "core/metrics/Report.h"

// Std
#include <iostream>
#include <stdexcept>

namespace camsight::cli {
namespace {

// Drops leading unit axes so that (1, 1, H, W) reads as (H, W).
std::vector<std::size_t> squeezed(std::vector<std::size_t> shape)
{
    while (shape.size() > 2 && shape.front() == 1)
        shape.erase(shape.begin());
    return shape;
}

int run(const Args& args)
{
    const std::string heatmapPath = args.value("heatmap"), maskPath = args.value("mask");
    metrics::MapShape shape;
    if (args.has("spacing")) {
        const auto sp = parseNumberList(args.value("spacing"), "--spacing");
        if (sp.size() != 2 && sp.size() != 3)
            throw UsageError("--spacing takes SX,SY or SX,SY,SZ (millimetres)");
        for (double v : sp)
            if (!(v > 0))
                throw UsageError("--spacing values must be positive");
        shape.sx = sp[0];
        shape.sy = sp[1];
        if (sp.size() == 3)
            shape.sz = sp[2];
    }
    const io::NpyArray h = io::readNpy(heatmapPath);
    const io::NpyArray m = io::readNpy(maskPath);
    const auto hs = squeezed(h.shape), ms = squeezed(m.shape);
    if (hs.size() != 2 && hs.size() != 3)
        throw std::runtime_error(heatmapPath + ": heatmap must be H x W or D x H x W, got " + h.shapeString());
    if (hs != ms)
        throw std::runtime_error(maskPath + ": mask shape " + m.shapeString() + " does not match heatmap shape " +
                                 h.shapeString() + " of " + heatmapPath);

    shape.nx = hs.back();
    shape.ny = hs[hs.size() - 2];
    shape.nz = hs.size() == 3 ? hs[0] : 1;
    const std::vector<float> heat = h.toFloat();
    std::vector<std::uint8_t> mask(m.count());
    const std::vector<double> mv = m.toDouble();
    for (std::size_t i = 0; i < mv.size(); ++i)
        mask[i] = mv[i] != 0;

    metrics::Report report;
    try {
        report = metrics::evaluate(heat.data(), mask.data(), shape);
    } catch (const std::invalid_argument& e) {
        throw std::runtime_error(heatmapPath + ": " + e.what());
    }
    std::cout << "{";
    for (std::size_t i = 0; i < report.values.size(); ++i)
        std::cout << (i ? ",\n " : "") << jsonString(report.values[i].first) << ": " << jsonNumber(report.values[i].second);
    std::cout << "}\n";
    return 0;
}

}  // namespace

Command metricsCommand()
{
    return {"metrics",
            "heatmap-vs-mask localization metrics as one JSON object (NaN is null)",
            "--heatmap H.npy --mask M.npy [--spacing SX,SY[,SZ]]",
            {{"heatmap", true, "heatmap, float H x W or D x H x W", "H.npy"},
             {"mask", true, "mask of the same shape; non-zero is inside", "M.npy"},
             {"spacing", true, "voxel spacing in mm (x = column, y = row) for peak_distance_mm", "SX,SY[,SZ]"}},
            run};
}

}  // namespace camsight::cli
