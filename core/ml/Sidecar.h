#pragma once
// Local
#include "core/ml/FloatArray.h"

// Std
#include <optional>
#include <string>
#include <vector>

namespace camsight::ml {

/// What a classifier expects, from a small JSON file next to it (docs/SIDECAR.md):
///
///     {"input_size": [224, 224], "channels": 3,
///      "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225],
///      "resize": {"shorter_side": 256}, "crop": "center",
///      "intensity": {"window": {"center": 40, "width": 400}},
///      "class_names": ["normal", "lesion"], "target_layer": "layer4", "target": "logit"}
///
/// Only input_size is required. resize: {"shorter_side": S} (torchvision Resize(S)), {"size": [H, W]}, or absent
/// (resize the slice to input_size). crop: "center" (torchvision CenterCrop(input_size)) or "none". intensity: how
/// slice values become [0, 1]: {"window": {...}} (DICOM linear window), "minmax" (default), or {"scale": 255}
/// (divide). mean/std: one value per channel, or one for all. target: "logit", "softmax" or "binary".
struct ModelSidecar {
    int inputHeight = 0, inputWidth = 0;
    int channels = 3;
    std::vector<double> mean{0.0}, std{1.0};
    enum class Resize { ToInput, ShorterSide, Exact } resize = Resize::ToInput;
    int shorterSide = 0, resizeHeight = 0, resizeWidth = 0;
    bool centerCrop = false;
    enum class Intensity { MinMax, Window, Scale } intensity = Intensity::MinMax;
    double windowCenter = 0, windowWidth = 1, scale = 1;
    std::vector<std::string> classNames;
    std::string targetLayer;  ///< empty: the model's default
    std::string target = "logit";

    /// Throws std::runtime_error naming the file and the offending field.
    static ModelSidecar load(const std::string& path);
    /// Parses JSON text; `origin` names the source in errors.
    static ModelSidecar parse(const std::string& json, const std::string& origin);
    /// "<dir>/<stem>.json" beside `modelPath` (model.pt -> model.json).
    static std::string pathBeside(const std::string& modelPath);
};

/// Where a slice of sliceWidth x sliceHeight pixels goes on its way to the model: resized to resizedWidth x
/// resizedHeight, then the input window [cropX, cropX + inputWidth) x [cropY, cropY + inputHeight) of that is cut out.
struct InputGeometry {
    int sliceWidth = 0, sliceHeight = 0;
    int resizedWidth = 0, resizedHeight = 0;
    int cropX = 0, cropY = 0;
    int inputWidth = 0, inputHeight = 0;

    /// Fraction of the slice's area the model sees (1 without a crop).
    double coverage() const;
};

/// The geometry the sidecar prescribes for a slice (throws std::invalid_argument when a crop exceeds the resized
/// slice, or the resized size differs from input_size without a crop).
InputGeometry planInput(const ModelSidecar& sidecar, int sliceWidth, int sliceHeight);

/// The model input [1, channels, H, W] for one slice: `pixels` holds sliceHeight x sliceWidth x `sliceChannels`
/// (1 or 3, interleaved) values in the slice's own units. Intensity mapping, antialiased bilinear resize, crop,
/// channel replication (grey to 3) or averaging (colour to 1), then (v - mean) / std.
FloatArray prepareInput(const ModelSidecar& sidecar, const std::vector<float>& pixels, int sliceWidth, int sliceHeight,
                        int sliceChannels, InputGeometry* geometry = nullptr);

/// A map computed on the model input ([inputHeight, inputWidth]) brought back onto the slice's pixel grid: every
/// slice pixel centre is carried through the resize and the crop and sampled bilinearly; pixels the crop removed
/// get `outside` (0: the model did not look there).
std::vector<float> mapToSlice(const InputGeometry& geometry, const std::vector<float>& inputMap, float outside = 0.0f);

/// Antialiased bilinear resampling of a single-channel image (a triangle filter widened by the scale factor when
/// shrinking, as PIL and torchvision's antialias do; plain bilinear with half-pixel centres when enlarging).
std::vector<float> resizeLinear(const std::vector<float>& in, int width, int height, int newWidth, int newHeight);

}  // namespace camsight::ml
