#pragma once
// Local
#include "core/ml/FloatArray.h"

// Std
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace camsight::ml {

/// A model file that cannot be loaded or run as asked. The message names the file and the problem.
class ModelError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// One submodule of a classifier, by its attribute path ("layer4", "features.block4").
struct LayerInfo {
    std::string path;
    std::string typeName;                   ///< the module's class, e.g. "Sequential", "Conv2d"
    std::vector<std::int64_t> outputShape;  ///< from a probe forward; empty when not called or not a tensor
    int callOrder = -1;                     ///< position of its output in the forward pass (-1: not called)
};

/// A TorchScript classifier (scripted or traced) loaded from the user's file, in eval mode on the CPU.
///
/// Intermediate outputs are captured from the loaded module itself, without hooks and without re-export: the
/// forward graph is copied and inlined, the nodes whose inlined call stack lies inside the requested submodule form
/// its region, and the tensor that leaves that region is added as an extra graph output. A submodule called more
/// than once is captured at its first call (as pytorch-grad-cam's hooks pair the first activation with its gradient).
class Classifier {
public:
    /// Throws ModelError naming `path` when the file is missing, not a TorchScript archive, or has no forward.
    static Classifier load(const std::string& path);

    Classifier(Classifier&&) noexcept;
    Classifier& operator=(Classifier&&) noexcept;
    ~Classifier();

    const std::string& path() const;
    /// Every submodule path in definition order (the root excluded), with its class name; no output shapes.
    std::vector<LayerInfo> modules() const;
    /// Runs one forward pass on `input` ([N, C, H, W] or [N, C, D, H, W]) and reports every submodule with the shape
    /// of its output, in the order the forward pass produces them (modules never called come last).
    std::vector<LayerInfo> probe(const FloatArray& input) const;
    /// The default target layer for CAMs: the last submodule, in forward order, whose output is spatial
    /// (rank >= 4 with more than one position); among modules sharing that output the outermost. Throws ModelError
    /// when there is none.
    std::string defaultTargetLayer(const FloatArray& input) const;
    /// The model's output for `input` (the first tensor if it returns a tuple or list), without autograd.
    FloatArray forward(const FloatArray& input) const;

    struct Impl;
    Impl& impl() const { return *m_impl; }

private:
    explicit Classifier(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

}  // namespace camsight::ml
