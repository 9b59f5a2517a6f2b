// camsight-cli sam: Segment Anything on one image with point/box/mask prompts.

// Local
#include "app/cli/Arrays.h"
#include "app/cli/Command.h"
#include "app/cli/Json.h"
#include "core/io/Npy.h"
#include "app/cli/Images.h"
#include "core/ml/Sam.h"

// Std
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <stdexcept>

namespace camsight::cli {
namespace {

namespace fs = std::filesystem;

int run(const Args& args)
{
    const std::string checkpoint = args.value("checkpoint");
    const std::string imagePath = args.value("image");
    const fs::path out = args.value("out");
    ml::SamPrompts prompts;
    prompts.multimask = args.has("multimask");
    for (const std::string& p : args.values("point")) {
        const auto v = parseNumberList(p, "--point");
        if (v.size() != 3 || (v[2] != 0 && v[2] != 1))
            throw UsageError("--point takes X,Y,L with L = 1 (foreground) or 0 (background), got '" + p + "'");
        prompts.points.push_back({v[0], v[1], int(v[2])});
    }
    if (args.has("box")) {
        const auto v = parseNumberList(args.value("box"), "--box");
        if (v.size() != 4 || v[2] < v[0] || v[3] < v[1])
            throw UsageError("--box takes X0,Y0,X1,Y1 with X0 <= X1 and Y0 <= Y1");
        prompts.box = std::array<double, 4>{v[0], v[1], v[2], v[3]};
    }
    if (prompts.points.empty() && !prompts.box)
        throw UsageError("give at least one --point X,Y,L or a --box X0,Y0,X1,Y1");
    if (args.has("mask-input")) {
        const std::string m = args.value("mask-input");
        const io::NpyArray a = io::readNpy(m);
        if (a.count() != 256 * 256)
            throw std::runtime_error(m + ": mask input must be 256 x 256 (or 1 x 256 x 256) low-resolution logits, got " +
                                     a.shapeString());
        prompts.maskInput = ml::FloatArray({1, 256, 256}, a.toFloat());
    }
    const ml::SamImage image = readImage(imagePath);
    for (const auto& p : prompts.points)
        if (p.x < 0 || p.y < 0 || p.x > image.width || p.y > image.height)
            throw UsageError("--point " + std::to_string(p.x) + "," + std::to_string(p.y) + " lies outside the " +
                             std::to_string(image.width) + " x " + std::to_string(image.height) + " image");
    const auto t0 = std::chrono::steady_clock::now();
    const ml::SamModel sam = ml::SamModel::load(checkpoint);
    const auto t1 = std::chrono::steady_clock::now();
    const ml::SamEmbedding e = args.has("medsam") ? sam.encodeMedSam(image) : sam.encode(image);
    const auto t2 = std::chrono::steady_clock::now();
    const ml::SamResult r = sam.decode(e, prompts);
    const auto t3 = std::chrono::steady_clock::now();
    fs::create_directories(out);
    saveArray(out / "embedding.npy", e.features);
    saveArray(out / "low_res_logits.npy", r.lowResLogits);
    saveArray(out / "iou_predictions.npy", r.iou);
    saveArray(out / "logits.npy", r.logits);
    if (!r.probabilities.empty())
        saveArray(out / "prob.npy", r.probabilities);
    io::writeNpy((out / "masks.npy").string(), r.masks.data(),
                 std::vector<std::size_t>(r.logits.shape.begin(), r.logits.shape.end()));
    auto ms = [](auto a, auto b) { return std::chrono::duration<double, std::milli>(b - a).count(); };
    std::cout << "{\"checkpoint\": " << jsonString(checkpoint) << ", \"variant\": " << jsonString(sam.variant())
              << ", \"image\": [" << image.width << ", " << image.height << "], \"masks\": " << r.iou.data.size()
              << ", \"iou_predictions\": " << jsonNumbers(r.iou.data)
              << ", \"load_ms\": " << jsonNumber(ms(t0, t1)) << ", \"encode_ms\": " << jsonNumber(ms(t1, t2))
              << ", \"decode_ms\": " << jsonNumber(ms(t2, t3)) << ", \"out\": " << jsonString(out.string()) << "}\n";
    return 0;
}

}  // namespace

Command samCommand()
{
    return {"sam",
            "Segment Anything masks for point/box prompts (embedding, low_res_logits, iou_predictions, logits, masks .npy)",
            "--checkpoint F --image IMG [--point X,Y,L]... [--box X0,Y0,X1,Y1] [--mask-input F.npy] [--multimask] [--medsam] --out DIR",
            {{"checkpoint", true, "SAM ViT-B/L/H, MobileSAM (vit_t) or MedSAM checkpoint (torch.save zip or .safetensors)", "F"},
             {"image", true, ".npy (uint8 H x W x 3 or H x W), PNG, or a DICOM file", "IMG"},
             {"point", true, "a click in original pixels: x = column, y = row, L = 1 foreground / 0 background; repeatable", "X,Y,L"},
             {"box", true, "a box in original pixels", "X0,Y0,X1,Y1"},
             {"mask-input", true, "previous low-resolution logits (1 x 256 x 256) to refine", "F.npy"},
             {"multimask", false, "three candidate masks with their IoU predictions instead of one"},
             {"medsam", false, "MedSAM's inference preprocessing (1024 x 1024 cubic spline, [0, 1]; sigmoid > 0.5; also "
                               "writes prob.npy)"},
             {"out", true, "output folder", "DIR"}},
            run};
}

}  // namespace camsight::cli
