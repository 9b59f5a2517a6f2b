#pragma once
// Local
#include "core/ml/Classifier.h"
#include "core/ml/FloatArray.h"

// Std
#include <optional>
#include <string>
#include <vector>

/// The Grad-CAM family, equal to jacobgil/pytorch-grad-cam 1.5.5 (see ../shared/golden/cam/README.md for the
/// formulas). A = activations of the target layer, G = d(target score)/dA, both captured from the loaded TorchScript
/// module (Classifier); no parameter gradient is computed.
namespace camsight::ml {

enum class CamMethod {
    GradCam,             ///< w_k = mean G_k; L = sum_k w_k A_k
    HiResCam,            ///< L = sum_k G_k * A_k
    GradCamPlusPlus,     ///< second-order weights (raw-gradient form of eq. 19)
    XGradCam,            ///< w_k = sum G_k A_k / (sum A_k + 1e-7)
    LayerCam,            ///< L = sum_k relu(G_k) * A_k
    EigenCam,            ///< first principal component of A (no gradient)
    EigenGradCam,        ///< first principal component of G * A
    ScoreCam,            ///< w = softmax of the target score on the input masked by each upsampled channel
    GradCamElementWise,  ///< L = sum_k relu(G_k * A_k)
};

/// Names as pytorch-grad-cam's classes, lower case: gradcam, hirescam, gradcam++, xgradcam, layercam, eigencam,
/// eigengradcam, scorecam, gradcamelementwise. nullopt for anything else.
std::optional<CamMethod> parseCamMethod(const std::string& name);
std::string camMethodName(CamMethod method);
std::vector<CamMethod> allCamMethods();

/// What the map explains (pytorch-grad-cam's target classes).
struct CamTarget {
    enum class Kind {
        Logit,    ///< ClassifierOutputTarget: the raw output `index`
        Softmax,  ///< ClassifierOutputSoftmaxTarget: softmax(output)[index]
        Binary,   ///< BinaryClassifierOutputTarget: the single output, times +1 for index 1 and -1 for index 0
    };
    Kind kind = Kind::Logit;
    int index = -1;  ///< -1: the predicted class (argmax; for Binary, 1 when the output is > 0)
};

struct CamOptions {
    CamMethod method = CamMethod::GradCam;
    std::string layer;         ///< submodule path; empty: Classifier::defaultTargetLayer
    CamTarget target;
    bool eigenSmooth = false;  ///< project the weighted activations on their first principal component
    int scoreCamBatch = 16;    ///< masked inputs per forward pass (ScoreCAM)
};

struct CamResult {
    std::string layer;     ///< the target layer used
    int targetIndex = -1;  ///< the class explained
    FloatArray logits;     ///< model output [N, K]
    FloatArray rawPreRelu; ///< low-resolution map before ReLU [h, w] (or [d, h, w])
    FloatArray raw;        ///< max(rawPreRelu, 0): the per-layer CAM before scaling
    FloatArray cam;        ///< final map at the input's spatial size, scaled to [0, 1]
    // What the map was computed from, for verification and display:
    FloatArray activations;     ///< A [1, C, h, w]
    FloatArray gradients;       ///< G [1, C, h, w]; empty for EigenCAM and ScoreCAM
    FloatArray weights;         ///< channel weights [1, C] for GradCAM, GradCAM++, XGradCAM, ScoreCAM; else empty
    FloatArray scoreCamScores;  ///< ScoreCAM's target scores per channel [1, C] (before the softmax)
};

/// Computes one CAM for `input` [1, C, H, W] (or [1, C, D, H, W]). Throws ModelError naming the model file and the
/// problem (unknown layer, class index out of range, a layer without spatial output, a failing forward pass).
CamResult computeCam(const Classifier& model, const FloatArray& input, const CamOptions& options);

/// pytorch-grad-cam's post-processing of a low-resolution map before ReLU ([h, w] or [d, h, w]): ReLU, shift to 0
/// and divide by (1e-7 + max), resize to `size` (bilinear/trilinear, half-pixel centres, as OpenCV's INTER_LINEAR),
/// clip at 0, shift and scale again. Returns a map of shape `size` in [0, 1].
FloatArray finalizeCam(const FloatArray& lowResPreRelu, const std::vector<std::int64_t>& size);

}  // namespace camsight::ml
