// camsight-cli cam: a Grad-CAM-family map of a TorchScript classifier for one input.

// Local
#include "app/cli/Arrays.h"
#include "app/cli/Command.h"
#include "app/cli/Json.h"
#include "core/io/Npy.h"
#include "core/ml/Cam.h"
#include "core/ml/Classifier.h"
#include "core/ml/Sidecar.h"
#ifdef CAMSIGHT_FULL_BUILD
#include "core/io/ItkFormats.h"
#endif

// Std
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <optional>
#include <stdexcept>

namespace camsight::cli {
namespace {

namespace fs = std::filesystem;

// One 2D image for --image: rows x columns x channels, in the file's own units.
struct Picture {
    int width = 0, height = 0, channels = 1;
    std::vector<float> pixels;
};

Picture readPicture(const std::string& path, const std::string& sliceArg)
{
    Picture p;
    const std::string ext = fs::path(path).extension().string();
    if (ext == ".npy") {
        const io::NpyArray a = io::readNpy(path);
        std::vector<std::size_t> s = a.shape;
        while (s.size() > 2 && s.front() == 1)
            s.erase(s.begin());
        if (s.size() == 3 && (s[2] == 3 || s[2] == 1)) {
            p.channels = static_cast<int>(s[2]);
        } else if (s.size() != 2) {
            throw std::runtime_error(path + ": an image is H x W or H x W x 3, got " + a.shapeString());
        }
        p.height = static_cast<int>(s[0]);
        p.width = static_cast<int>(s[1]);
        p.pixels = a.toFloat();
        return p;
    }
#ifdef CAMSIGHT_FULL_BUILD
    const io::ImageFile f = io::readImageFile(path);
    if (f.components != 1 && f.components != 3)
        throw std::runtime_error(path + ": " + std::to_string(f.components) + " components per pixel; 1 or 3 are read");
    std::size_t slice = f.size[2] / 2;
    if (!sliceArg.empty()) {
        slice = std::stoul(sliceArg);
        if (slice >= f.size[2])
            throw UsageError("--slice " + sliceArg + " is outside the image's " + std::to_string(f.size[2]) + " slices");
    }
    p.width = static_cast<int>(f.size[0]);
    p.height = static_cast<int>(f.size[1]);
    p.channels = f.components;
    const std::size_t plane = f.size[0] * f.size[1] * f.components;
    p.pixels.assign(f.pixels.begin() + slice * plane, f.pixels.begin() + (slice + 1) * plane);
    return p;
#else
    (void)sliceArg;
    throw std::runtime_error(path + ": this engine-only build reads .npy images; PNG, DICOM and NIfTI need the full build");
#endif
}

int run(const Args& args)
{
    const std::string modelPath = args.value("model");
    if (args.has("input") == args.has("image"))
        throw UsageError("give exactly one of --input X.npy (the prepared model input) or --image IMG");

    ml::CamOptions opt;
    const std::string methodName = args.value("method", "gradcam");
    const auto method = ml::parseCamMethod(methodName);
    if (!method) {
        std::string names;
        for (auto m : ml::allCamMethods())
            names += (names.empty() ? "" : ", ") + ml::camMethodName(m);
        throw UsageError("unknown --method '" + methodName + "'; one of: " + names);
    }
    opt.method = *method;
    opt.eigenSmooth = args.has("eigen-smooth");

    // The sidecar: --sidecar, or the one beside the model when it exists.
    std::optional<ml::ModelSidecar> sidecar;
    std::string sidecarPath = args.value("sidecar", "");
    if (sidecarPath.empty() && fs::exists(ml::ModelSidecar::pathBeside(modelPath)))
        sidecarPath = ml::ModelSidecar::pathBeside(modelPath);
    if (!sidecarPath.empty())
        sidecar = ml::ModelSidecar::load(sidecarPath);

    std::string target = args.value("target", sidecar ? sidecar->target : "logit");
    if (target == "logit")
        opt.target.kind = ml::CamTarget::Kind::Logit;
    else if (target == "softmax")
        opt.target.kind = ml::CamTarget::Kind::Softmax;
    else if (target == "binary")
        opt.target.kind = ml::CamTarget::Kind::Binary;
    else
        throw UsageError("--target is logit, softmax or binary, not '" + target + "'");
    if (args.has("class")) {
        const std::string c = args.value("class");
        if (c.empty() || c.find_first_not_of("0123456789") != std::string::npos || c.size() > 6)
            throw UsageError("--class takes a class index (0, 1, ...), not '" + c + "'");
        opt.target.index = std::stoi(c);
    }

    const ml::Classifier model = ml::Classifier::load(modelPath);
    ml::FloatArray input;
    std::optional<ml::InputGeometry> geometry;
    if (args.has("input")) {
        const std::string inPath = args.value("input");
        const io::NpyArray a = io::readNpy(inPath);
        input.shape.assign(a.shape.begin(), a.shape.end());
        if (input.shape.size() == 3)  // [C, H, W]: add the batch axis
            input.shape.insert(input.shape.begin(), 1);
        if (input.shape.size() != 4 && input.shape.size() != 5)
            throw std::runtime_error(inPath + ": the model input must be [1, C, H, W] or [C, H, W], got " + a.shapeString());
        input.data = a.toFloat();
    } else {
        if (!sidecar)
            throw UsageError("--image needs a sidecar giving the model's input size (--sidecar S, or " +
                             ml::ModelSidecar::pathBeside(modelPath) + "); or pass a prepared --input X.npy");
        const Picture pic = readPicture(args.value("image"), args.value("slice", ""));
        ml::InputGeometry g;
        try {
            input = ml::prepareInput(*sidecar, pic.pixels, pic.width, pic.height, pic.channels, &g);
        } catch (const std::invalid_argument& e) {
            throw std::runtime_error(sidecarPath + ": " + e.what());
        }
        geometry = g;
    }
    if (args.has("layer"))
        opt.layer = args.value("layer");
    else if (sidecar)
        opt.layer = sidecar->targetLayer;

    if (args.has("list-layers")) {
        std::cout << "[";
        bool first = true;
        for (const auto& l : model.probe(input)) {
            std::cout << (first ? "" : ",\n ") << "{\"path\": " << jsonString(l.path) << ", \"type\": " << jsonString(l.typeName)
                      << ", \"output_shape\": [";
            for (std::size_t i = 0; i < l.outputShape.size(); ++i)
                std::cout << (i ? ", " : "") << l.outputShape[i];
            std::cout << "]}";
            first = false;
        }
        std::cout << "]\n";
        return 0;
    }

    const fs::path outDir = args.value("out");
    const ml::CamResult r = ml::computeCam(model, input, opt);
    fs::create_directories(outDir);
    saveArray(outDir / "cam.npy", r.cam);
    saveArray(outDir / "raw.npy", r.raw);
    saveArray(outDir / "logits.npy", r.logits);
    if (geometry) {
        const auto onImage = ml::mapToSlice(*geometry, r.cam.data);
        io::writeNpy((outDir / "cam_image.npy").string(), onImage.data(),
                     {std::size_t(geometry->sliceHeight), std::size_t(geometry->sliceWidth)});
    }
    std::cout << "{\"model\": " << jsonString(modelPath) << ", \"layer\": " << jsonString(r.layer)
              << ", \"method\": " << jsonString(ml::camMethodName(opt.method)) << ", \"target\": " << jsonString(target)
              << ", \"class\": " << r.targetIndex;
    if (sidecar && r.targetIndex >= 0 && std::size_t(r.targetIndex) < sidecar->classNames.size())
        std::cout << ", \"class_name\": " << jsonString(sidecar->classNames[r.targetIndex]);
    std::cout << ", \"logits\": " << jsonNumbers(r.logits.data) << ", \"raw_shape\": " << jsonString(r.raw.shapeString()) << ", \"cam_shape\": " << jsonString(r.cam.shapeString());
    if (geometry)
        std::cout << ", \"image_coverage\": " << jsonNumber(geometry->coverage());
    std::cout << ", \"out\": " << jsonString(outDir.string()) << "}\n";
    return 0;
}

}  // namespace

Command camCommand()
{
    return {"cam",
            "Grad-CAM-family heatmap of a TorchScript classifier (cam.npy, raw.npy, logits.npy)",
            "--model F [--layer L] [--method M] [--class K] (--input X.npy | --image IMG [--sidecar S]) --out DIR",
            {{"model", true, "TorchScript classifier (scripted or traced)", "F"},
             {"layer", true, "target submodule path, e.g. layer4 or features.block4 (default: the sidecar's, else the "
                             "last layer with a spatial output)", "L"},
             {"method", true, "gradcam, hirescam, gradcam++, xgradcam, layercam, eigencam, eigengradcam, scorecam, "
                              "gradcamelementwise (default gradcam)", "M"},
             {"class", true, "class index to explain (default: the predicted class)", "K"},
             {"target", true, "logit (default), softmax, or binary (a single-output classifier)", "T"},
             {"eigen-smooth", false, "project on the first principal component (pytorch-grad-cam's eigen_smooth)"},
             {"input", true, "prepared model input, float [1, C, H, W] or [C, H, W]", "X.npy"},
             {"image", true, "an image to prepare with the sidecar: .npy (H x W or H x W x 3), PNG, DICOM, NIfTI", "IMG"},
             {"slice", true, "slice of a 3D --image (default: the middle one)", "K"},
             {"sidecar", true, "what the model expects (default: the .json beside the model)", "S"},
             {"list-layers", false, "print the model's layers with their output shapes for this input, and stop"},
             {"out", true, "output folder", "DIR"}},
            run};
}

}  // namespace camsight::cli
