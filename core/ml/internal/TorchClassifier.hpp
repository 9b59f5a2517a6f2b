#pragma once
// Private to core/ml: the LibTorch side of Classifier. Only core/ml's .cpp files include this header.

// Local
#include "core/ml/Classifier.h"
#include "core/ml/internal/Tensors.hpp"

// LibTorch
#include <torch/script.h>

// Std
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace torch::jit {
struct Code;
}

namespace camsight::ml {

/// The forward graph with one or more submodule outputs appended to its outputs, compiled once.
struct CapturedForward {
    std::shared_ptr<torch::jit::Graph> graph;
    std::shared_ptr<torch::jit::Code> code;
    std::vector<std::string> layers;        ///< the captured submodules
    std::vector<std::size_t> outputIndex;   ///< graph output holding each layer's tensor (0 is the model output)
};

struct Classifier::Impl {
    std::string path;
    torch::jit::Module module;
    std::vector<std::string> modulePaths;
    std::vector<std::string> typeNames;
    mutable std::mutex cacheMutex;
    mutable std::map<std::string, std::shared_ptr<const CapturedForward>> cache;

    /// The module frozen and optimised for inference (Conv-BatchNorm folding, oneDNN layouts), made on first use;
    /// the plain module when freezing fails. For the many forward passes of ScoreCAM.
    torch::jit::Module& inferenceModule() const;
    mutable std::once_flag inferenceOnce;
    mutable std::optional<torch::jit::Module> inference;

    /// The forward graph that also returns the outputs of `layers` (ModelError naming the file and layer when a
    /// layer is unknown, never called, called inside control flow, or returns something other than one tensor).
    /// With `gradientLeaf`, the (single) captured layer output is detached and made a leaf that requires grad
    /// where it is produced, so that a forward pass records autograd only downstream of it.
    std::shared_ptr<const CapturedForward> capture(const std::vector<std::string>& layers, bool gradientLeaf = false) const;
    /// Runs a captured forward: returns the model output (first tensor) followed by the captured tensors.
    std::vector<torch::Tensor> run(const CapturedForward& f, const torch::Tensor& input) const;
    /// The model output as one tensor (the first tensor of a tuple or list).
    torch::Tensor outputTensor(const c10::IValue& v) const;
};

}  // namespace camsight::ml
