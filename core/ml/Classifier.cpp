#include "core/ml/Classifier.h"

// Local
#include "core/ml/internal/TorchClassifier.hpp"

// LibTorch
#include <torch/csrc/jit/ir/ir.h>
#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/passes/inliner.h>
#include <torch/csrc/jit/runtime/interpreter.h>

// Std
#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

namespace camsight::ml {
namespace {

using torch::jit::Block;
using torch::jit::Graph;
using torch::jit::Node;
using torch::jit::Value;

std::string shortTypeName(const c10::ClassTypePtr& type)
{
    if (!type || !type->name())
        return "?";
    const std::string q = type->name()->qualifiedName();
    const auto dot = q.rfind('.');
    return dot == std::string::npos ? q : q.substr(dot + 1);
}

// The attribute path of the module a value holds: graph input 0 is the root, prim::GetAttr steps down. False for a
// module reached any other way.
bool receiverPath(const Graph& g, const Value* v, std::string* path)
{
    if (v == g.inputs().at(0)) {
        path->clear();
        return true;
    }
    const Node* n = v->node();
    if (n->kind() != c10::prim::GetAttr || !receiverPath(g, n->input(0), path))
        return false;
    *path += (path->empty() ? "" : ".") + n->s(c10::attr::name);
    return true;
}

bool isPrefixPath(const std::string& prefix, const std::string& path)
{
    return prefix.empty() || path == prefix || (path.size() > prefix.size() && path.compare(0, prefix.size(), prefix) == 0 &&
                                                path[prefix.size()] == '.');
}

bool callsInBlocks(const Graph& g, Block* b, const std::string& layer)
{
    for (Node* n : b->nodes()) {
        std::string p;
        if (n->kind() == c10::prim::CallMethod && receiverPath(g, n->input(0), &p) && p == layer)
            return true;
        for (Block* sub : n->blocks())
            if (callsInBlocks(g, sub, layer))
                return true;
    }
    return false;
}

// A copy of forward() in which the output of the first forward() call of each wanted submodule is an extra graph
// output. Module calls are expanded one at a time, in execution order, from the methods' own (not yet inlined)
// graphs, so that nested submodules stay visible as calls until their turn; a call's output value survives its
// inlining because the graph output is redirected to the inlined body's result. Finally everything is inlined.
// `wanted` empty: every submodule. Returns, per recorded path, the index of its extra output (outputs start at 1).
struct Expanded {
    std::shared_ptr<Graph> graph;
    std::map<std::string, std::size_t> outputIndex;
    std::map<std::string, std::string> notCaptured;  ///< path -> reason
};

Expanded expandForward(torch::jit::Module& module, const std::vector<std::string>& wanted)
{
    Expanded e;
    e.graph = module.get_method("forward").graph()->copy();
    Graph& g = *e.graph;
    auto isWanted = [&](const std::string& p) {
        return wanted.empty() || std::find(wanted.begin(), wanted.end(), p) != wanted.end();
    };
    auto leadsToWanted = [&](const std::string& p) {  // the call's body may contain a wanted call
        if (wanted.empty())
            return true;
        for (const auto& w : wanted)
            if (isPrefixPath(p, w) && p != w)
                return true;
        return false;
    };
    std::set<Node*> skipped;  // calls left for the final Inline
    for (;;) {
        Node* call = nullptr;
        std::string path;
        for (Node* n : g.nodes()) {
            if (n->kind() != c10::prim::CallMethod || skipped.count(n))
                continue;
            std::string p;
            const bool known = receiverPath(g, n->input(0), &p);
            const bool record = known && n->s(c10::attr::name) == "forward" && !p.empty() && isWanted(p) &&
                                !e.outputIndex.count(p) && !e.notCaptured.count(p);
            if (known && (record || leadsToWanted(p))) {
                call = n;
                path = p;
                break;
            }
            skipped.insert(n);
        }
        if (!call)
            break;
        if (call->s(c10::attr::name) == "forward" && !path.empty() && isWanted(path) && !e.outputIndex.count(path) &&
            !e.notCaptured.count(path)) {
            Value* out = call->outputs().size() == 1 ? call->output() : nullptr;
            if (out && out->type()->cast<c10::TensorType>()) {
                e.outputIndex[path] = g.outputs().size();
                g.registerOutput(out);
            } else {
                e.notCaptured[path] = "returns " + (out ? out->type()->repr_str() : std::string("several values")) +
                                      ", not a tensor";
            }
        }
        if (!leadsToWanted(path)) {
            skipped.insert(call);
            continue;
        }
        auto classType = call->input(0)->type()->cast<c10::ClassType>();
        torch::jit::GraphFunction* fn =
            classType ? torch::jit::tryToGraphFunction(classType->getMethod(call->s(c10::attr::name))) : nullptr;
        if (!fn) {
            skipped.insert(call);
            continue;
        }
        torch::jit::inlineCallTo(call, fn, fn->graph().get());
    }
    for (const auto& w : wanted)
        if (!e.outputIndex.count(w) && !e.notCaptured.count(w))
            e.notCaptured[w] = callsInBlocks(g, g.block(), w)
                                   ? "is only called inside control flow (if/loop); choose an enclosing layer"
                                   : "is not called by forward()";
    torch::jit::Inline(g);
    return e;
}

ModelError forwardFailed(const std::string& path, const std::string& shape, const c10::Error& e)
{
    return ModelError(path + ": forward() failed on an input of shape " + shape + ": " + e.what_without_backtrace());
}

}  // namespace

Classifier::Classifier(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
Classifier::Classifier(Classifier&&) noexcept = default;
Classifier& Classifier::operator=(Classifier&&) noexcept = default;
Classifier::~Classifier() = default;

Classifier Classifier::load(const std::string& path)
{
    {
        std::ifstream f(path, std::ios::binary);
        if (!f)
            throw ModelError(path + ": cannot open the model file");
        char magic[2] = {};
        f.read(magic, 2);
        if (f.gcount() != 2 || magic[0] != 'P' || magic[1] != 'K')
            throw ModelError(path + ": not a TorchScript model (expected a zip archive written by torch.jit.save)");
    }
    auto impl = std::make_unique<Impl>();
    impl->path = path;
    try {
        impl->module = torch::jit::load(path, torch::kCPU);
    } catch (const std::exception& e) {
        std::string msg = e.what();
        msg = msg.substr(0, msg.find('\n'));
        throw ModelError(path + ": cannot load as TorchScript: " + msg);
    }
    if (!impl->module.find_method("forward"))
        throw ModelError(path + ": the TorchScript module has no forward() method");
    impl->module.eval();
    for (auto p : impl->module.parameters())
        p.set_requires_grad(false);  // gradients are taken with respect to activations only
    for (const auto& m : impl->module.named_modules()) {
        if (m.name.empty())
            continue;
        impl->modulePaths.push_back(m.name);
        impl->typeNames.push_back(shortTypeName(m.value.type()));
    }
    return Classifier(std::move(impl));
}

const std::string& Classifier::path() const { return m_impl->path; }

std::vector<LayerInfo> Classifier::modules() const
{
    std::vector<LayerInfo> out;
    for (std::size_t i = 0; i < m_impl->modulePaths.size(); ++i)
        out.push_back({m_impl->modulePaths[i], m_impl->typeNames[i], {}, -1});
    return out;
}

torch::jit::Module& Classifier::Impl::inferenceModule() const
{
    std::call_once(inferenceOnce, [this] {
        try {
            torch::jit::Module frozen = torch::jit::freeze(module.clone());
            inference = torch::jit::optimize_for_inference(frozen);
        } catch (const std::exception&) {
            inference = module;  // a model freezing cannot handle still runs, only slower
        }
    });
    return *inference;
}

std::shared_ptr<const CapturedForward> Classifier::Impl::capture(const std::vector<std::string>& layers,
                                                                 bool gradientLeaf) const
{
    std::string key = gradientLeaf ? "leaf\n" : "";
    for (const auto& l : layers)
        key += l + '\n';
    {
        std::lock_guard<std::mutex> lock(cacheMutex);
        const auto it = cache.find(key);
        if (it != cache.end())
            return it->second;
    }
    auto f = std::make_shared<CapturedForward>();
    for (const auto& layer : layers)
        if (std::find(modulePaths.begin(), modulePaths.end(), layer) == modulePaths.end())
            throw ModelError(path + ": no submodule named '" + layer + "'");
    Expanded e = expandForward(const_cast<torch::jit::Module&>(module), layers);
    f->graph = e.graph;
    for (const auto& layer : layers) {
        if (e.notCaptured.count(layer))
            throw ModelError(path + ": layer '" + layer + "' " + e.notCaptured[layer]);
        f->outputIndex.push_back(e.outputIndex.at(layer));
        f->layers.push_back(layer);
    }
    if (gradientLeaf) {
        // A' = detach(A).requires_grad_(True), and every use of A reads A' (the graph output too): the forward pass
        // records no autograd graph before the layer and d(score)/dA' is the gradient at the layer.
        Graph& g = *f->graph;
        for (std::size_t index : f->outputIndex) {
            Value* a = g.outputs().at(index);
            Node* anchor = a->node()->kind() == c10::prim::Param ? g.block()->param_node() : a->node();
            torch::jit::WithInsertPoint guard(anchor->next());
            Value* detached = g.insert(c10::aten::detach, {a});
            Value* leaf = g.insert(c10::Symbol::fromQualString("aten::requires_grad_"), {detached, true});
            a->replaceAllUsesWith(leaf);
            detached->node()->replaceInput(0, a);
        }
    }
    f->code = std::make_shared<torch::jit::Code>(f->graph, "camsight_capture");
    std::lock_guard<std::mutex> lock(cacheMutex);
    cache[key] = f;
    return f;
}

torch::Tensor Classifier::Impl::outputTensor(const c10::IValue& v) const
{
    if (v.isTensor())
        return v.toTensor();
    if (v.isTuple())
        for (const auto& e : v.toTupleRef().elements())
            if (e.isTensor())
                return e.toTensor();
    if (v.isList())
        for (const auto& e : v.toListRef())
            if (e.isTensor())
                return e.toTensor();
    throw ModelError(path + ": forward() returns " + v.tagKind() + ", not a tensor of class scores");
}

std::vector<torch::Tensor> Classifier::Impl::run(const CapturedForward& f, const torch::Tensor& input) const
{
    torch::jit::Stack stack{module._ivalue(), input};
    try {
        torch::jit::InterpreterState(*f.code).run(stack);
    } catch (const c10::Error& e) {
        throw forwardFailed(path, c10::str(input.sizes()), e);
    }
    if (stack.size() != f.graph->outputs().size())
        throw ModelError(path + ": unexpected number of graph outputs");
    std::vector<torch::Tensor> out;
    out.push_back(outputTensor(stack[0]));
    for (std::size_t i : f.outputIndex)
        out.push_back(stack.at(i).toTensor());
    return out;
}

std::vector<LayerInfo> Classifier::probe(const FloatArray& input) const
{
    // One graph returning every submodule's output that can be captured; the others are reported without a shape.
    Expanded e = expandForward(m_impl->module, {});
    CapturedForward f;
    f.graph = e.graph;
    for (const auto& [path, index] : e.outputIndex) {
        f.layers.push_back(path);
        f.outputIndex.push_back(index);
    }
    f.code = std::make_shared<torch::jit::Code>(f.graph, "camsight_probe");
    std::vector<torch::Tensor> outputs;
    {
        torch::NoGradGuard noGrad;
        outputs = m_impl->run(f, toTensor(input));
    }
    std::map<std::string, torch::Tensor> byPath;
    for (std::size_t j = 0; j < f.layers.size(); ++j)
        byPath[f.layers[j]] = outputs.at(1 + j);
    // Forward order: the position of each output's producing node in the final graph (a module returning its
    // input unchanged counts from where that input was made).
    std::map<const Value*, int> position;
    int k = 0;
    for (const Value* v : e.graph->inputs())
        position[v] = k++;
    for (Node* n : e.graph->nodes())
        for (const Value* v : n->outputs())
            position[v] = k++;
    std::vector<LayerInfo> out = modules();
    for (auto& l : out) {
        const auto it = e.outputIndex.find(l.path);
        if (it == e.outputIndex.end())
            continue;
        const torch::Tensor& t = byPath.at(l.path);
        l.outputShape.assign(t.sizes().begin(), t.sizes().end());
        l.callOrder = position[e.graph->outputs()[it->second]];
    }
    std::stable_sort(out.begin(), out.end(), [](const LayerInfo& a, const LayerInfo& b) {
        const int ka = a.callOrder < 0 ? INT32_MAX : a.callOrder, kb = b.callOrder < 0 ? INT32_MAX : b.callOrder;
        return ka < kb;
    });
    return out;
}

std::string Classifier::defaultTargetLayer(const FloatArray& input) const
{
    const auto layers = probe(input);
    const LayerInfo* best = nullptr;
    for (const auto& l : layers) {
        if (l.callOrder < 0 || l.outputShape.size() < 4)
            continue;
        std::int64_t positions = 1;
        for (std::size_t d = 2; d < l.outputShape.size(); ++d)
            positions *= l.outputShape[d];
        if (positions <= 1)
            continue;
        // Later output wins; for the same output (a Sequential and its last child) the shorter path.
        if (!best || l.callOrder > best->callOrder ||
            (l.callOrder == best->callOrder && l.path.size() < best->path.size()))
            best = &l;
    }
    if (!best)
        throw ModelError(m_impl->path + ": no submodule has a spatial output (rank >= 4) for an input of shape " +
                         input.shapeString());
    return best->path;
}

FloatArray Classifier::forward(const FloatArray& input) const
{
    torch::NoGradGuard noGrad;
    torch::jit::Module& m = m_impl->module;
    try {
        return toArray(m_impl->outputTensor(m.forward({toTensor(input)})));
    } catch (const c10::Error& e) {
        throw forwardFailed(m_impl->path, input.shapeString(), e);
    }
}

}  // namespace camsight::ml
