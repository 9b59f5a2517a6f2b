#include "core/ml/Checkpoint.h"

// Local
#include "core/io/Json.h"
#include "core/ml/internal/Checkpoint.hpp"
#include "core/ml/internal/Pickle.hpp"

// LibTorch
#include <caffe2/serialize/inline_container.h>

// Std
#include <cstring>
#include <fstream>
#include <map>
#include <memory>

namespace camsight::ml {
namespace {

std::string dtypeName(c10::ScalarType t)
{
    switch (t) {
    case c10::kFloat: return "float32";
    case c10::kDouble: return "float64";
    case c10::kHalf: return "float16";
    case c10::kBFloat16: return "bfloat16";
    case c10::kLong: return "int64";
    case c10::kInt: return "int32";
    case c10::kShort: return "int16";
    case c10::kChar: return "int8";
    case c10::kByte: return "uint8";
    case c10::kBool: return "bool";
    case c10::kComplexFloat: return "complex64";
    case c10::kComplexDouble: return "complex128";
    default: return c10::toString(t);
    }
}

// The tensors of a dict (non-tensor values skipped); false when it holds none.

StateDict loadZip(const std::string& path)
{
    std::unique_ptr<caffe2::serialize::PyTorchStreamReader> reader;
    try {
        reader = std::make_unique<caffe2::serialize::PyTorchStreamReader>(path);
    } catch (const c10::Error& e) {
        std::string m = e.what_without_backtrace();
        throw CheckpointError(path + ": not a readable PyTorch zip checkpoint (" + m.substr(0, m.find('\n')) + ")");
    }
    if (reader->hasRecord("constants.pkl"))
        throw CheckpointError(path + ": a TorchScript model (torch.jit.save), not a checkpoint (torch.save of a state_dict)");
    if (!reader->hasRecord("data.pkl"))
        throw CheckpointError(path + ": the archive has no data.pkl (a TorchScript model rather than a checkpoint?)");
    at::DataPtr pkl;
    std::size_t pklSize = 0;
    try {
        std::tie(pkl, pklSize) = reader->getRecord("data.pkl");
    } catch (const c10::Error& e) {
        throw CheckpointError(path + ": cannot read data.pkl: " + std::string(e.what_without_backtrace()).substr(0, 200));
    }
    auto loadStorage = [&](const std::string& key, c10::ScalarType type, std::int64_t numel) {
        const std::string record = "data/" + key;
        if (!reader->hasRecord(record))
            throw CheckpointError(path + ": storage record '" + record + "' is missing");
        at::DataPtr data;
        std::size_t size = 0;
        try {
            std::tie(data, size) = reader->getRecord(record);
        } catch (const c10::Error& e) {
            throw CheckpointError(path + ": cannot read '" + record + "' (truncated file?)");
        }
        const std::size_t itemSize = c10::elementSize(type);
        if (size < std::size_t(numel) * itemSize)
            throw CheckpointError(path + ": storage '" + record + "' holds " + std::to_string(size) + " bytes, " +
                                  std::to_string(numel) + " " + dtypeName(type) + " values need " +
                                  std::to_string(std::size_t(numel) * itemSize));
        auto owner = std::make_shared<at::DataPtr>(std::move(data));
        void* raw = owner->get();
        return torch::from_blob(raw, {numel}, [owner](void*) {}, torch::TensorOptions().dtype(type));
    };
    return readStateDictPickle(path, static_cast<const std::uint8_t*>(pkl.get()), pklSize, loadStorage);
}

StateDict loadSafetensors(const std::string& path)
{
    std::ifstream f(path, std::ios::binary | std::ios::ate);
    if (!f)
        throw CheckpointError(path + ": cannot open");
    const auto fileSize = static_cast<std::uint64_t>(f.tellg());
    f.seekg(0);
    if (fileSize < 8)
        throw CheckpointError(path + ": too short for a safetensors file");
    unsigned char head[8];
    f.read(reinterpret_cast<char*>(head), 8);
    std::uint64_t n = 0;
    for (int k = 7; k >= 0; --k)
        n = (n << 8) | head[k];
    if (n > 100'000'000 || 8 + n > fileSize)
        throw CheckpointError(path + ": safetensors header of " + std::to_string(n) + " bytes does not fit the file");
    std::string header(n, '\0');
    f.read(header.data(), std::streamsize(n));
    io::Json j;
    try {
        j = io::Json::parse(header);
    } catch (const std::runtime_error& e) {
        throw CheckpointError(path + ": safetensors header: " + e.what());
    }
    const std::uint64_t dataSize = fileSize - 8 - n;
    auto buffer = std::shared_ptr<std::uint8_t[]>(new std::uint8_t[dataSize ? dataSize : 1]);
    f.read(reinterpret_cast<char*>(buffer.get()), std::streamsize(dataSize));
    if (!f)
        throw CheckpointError(path + ": truncated safetensors data");
    static const std::map<std::string, c10::ScalarType> types = {
        {"F32", c10::kFloat}, {"F64", c10::kDouble}, {"F16", c10::kHalf}, {"BF16", c10::kBFloat16},
        {"I64", c10::kLong},  {"I32", c10::kInt},    {"I16", c10::kShort}, {"I8", c10::kChar},
        {"U8", c10::kByte},   {"BOOL", c10::kBool}};
    StateDict out;
    for (const auto& [key, v] : j.obj) {
        if (key == "__metadata__")
            continue;
        const io::Json* dt = v.find("dtype");
        const io::Json* shape = v.find("shape");
        const io::Json* offsets = v.find("data_offsets");
        if (!dt || !shape || !offsets || offsets->arr.size() != 2)
            throw CheckpointError(path + ": entry '" + key + "' lacks dtype, shape or data_offsets");
        const auto type = types.find(dt->str);
        if (type == types.end())
            throw CheckpointError(path + ": entry '" + key + "' has unsupported dtype " + dt->str);
        std::vector<std::int64_t> sizes;
        std::uint64_t numel = 1;
        for (const auto& d : shape->arr) {
            if (d.type != io::Json::Type::Number || d.num < 0 || d.num > 1e12)
                throw CheckpointError(path + ": entry '" + key + "' has a bad shape");
            sizes.push_back(static_cast<std::int64_t>(d.num));
            numel *= static_cast<std::uint64_t>(d.num);
        }
        const double b = (*offsets)[0].num, e = (*offsets)[1].num;
        const std::uint64_t bytes = numel * c10::elementSize(type->second);
        if (!(b >= 0 && e >= b && e <= double(dataSize)) || std::uint64_t(e - b) != bytes)
            throw CheckpointError(path + ": entry '" + key + "' has data_offsets outside the file or of the wrong size");
        void* at = buffer.get() + static_cast<std::uint64_t>(b);
        out.emplace_back(key, torch::from_blob(at, sizes, [buffer](void*) {}, torch::TensorOptions().dtype(type->second)));
    }
    if (out.empty())
        throw CheckpointError(path + ": no tensors in the safetensors file");
    return out;
}

}  // namespace

StateDict loadCheckpoint(const std::string& path)
{
    std::ifstream f(path, std::ios::binary);
    if (!f)
        throw CheckpointError(path + ": cannot open the checkpoint file");
    char magic[2] = {};
    f.read(magic, 2);
    f.close();
    if (magic[0] == 'P' && magic[1] == 'K')
        return loadZip(path);
    const bool safetensorsName = path.size() > 12 && path.compare(path.size() - 12, 12, ".safetensors") == 0;
    if (safetensorsName)
        return loadSafetensors(path);
    if (static_cast<unsigned char>(magic[0]) == 0x80)
        throw CheckpointError(path + ": a legacy (pre-1.6) torch.save file; re-save it with a current PyTorch (zip format)");
    throw CheckpointError(path + ": not a PyTorch checkpoint (neither a torch.save zip archive nor .safetensors)");
}

void saveCheckpoint(const StateDict& sd, const std::string& path)
{
    // The storage class of each dtype, from the reader's table ("torch.FloatStorage" -> GLOBAL torch FloatStorage).
    std::map<c10::ScalarType, std::string> storageNames;
    for (const auto& [name, type] : storageTypes())
        storageNames[type] = name.substr(6);
    // Pickle protocol 2, the opcodes torch.save emits for an OrderedDict of tensors.
    std::string pkl("\x80\x02", 2);
    auto str = [&](const std::string& v) {
        pkl += 'X';
        const std::uint32_t n = static_cast<std::uint32_t>(v.size());
        pkl.append(reinterpret_cast<const char*>(&n), 4);
        pkl += v;
    };
    auto integer = [&](std::int64_t v) {
        if (v >= 0 && v < 0x7fffffff) {
            const std::int32_t x = static_cast<std::int32_t>(v);
            pkl += 'J';
            pkl.append(reinterpret_cast<const char*>(&x), 4);
        } else {
            pkl += '\x8a';
            pkl += '\x08';
            pkl.append(reinterpret_cast<const char*>(&v), 8);
        }
    };
    auto ints = [&](c10::IntArrayRef v) {
        pkl += '(';
        for (auto x : v)
            integer(x);
        pkl += 't';
    };
    pkl += "ccollections\nOrderedDict\n)R(";
    std::vector<torch::Tensor> storages;
    for (const auto& [key, tensor] : sd) {
        const torch::Tensor t = tensor.detach().to(torch::kCPU).contiguous();
        const auto name = storageNames.find(t.scalar_type());
        if (name == storageNames.end())
            throw CheckpointError(path + ": cannot write tensor '" + key + "' of type " + dtypeName(t.scalar_type()));
        str(key);
        pkl += "ctorch._utils\n_rebuild_tensor_v2\n(";
        pkl += "(";
        str("storage");
        pkl += "ctorch\n" + name->second + "\n";
        str(std::to_string(storages.size()));
        str("cpu");
        integer(t.numel());
        pkl += "tQ";
        integer(0);
        ints(t.sizes());
        ints(t.strides());
        pkl += "\x89";
        pkl += "ccollections\nOrderedDict\n)Rt";
        pkl += 'R';
        storages.push_back(t);
    }
    pkl += "u.";
    try {
        caffe2::serialize::PyTorchStreamWriter writer(path);
        writer.writeRecord("data.pkl", pkl.data(), pkl.size());
        writer.writeRecord("byteorder", "little", 6);
        for (std::size_t i = 0; i < storages.size(); ++i)
            writer.writeRecord("data/" + std::to_string(i), storages[i].data_ptr(), storages[i].nbytes());
        writer.writeEndOfFile();
    } catch (const c10::Error& e) {
        throw CheckpointError(path + ": cannot write: " + std::string(e.what_without_backtrace()).substr(0, 200));
    }
}

std::vector<CheckpointEntry> inspectCheckpoint(const std::string& path)
{
    std::vector<CheckpointEntry> out;
    for (const auto& [k, t] : loadCheckpoint(path))
        out.push_back({k, dtypeName(t.scalar_type()), std::vector<std::int64_t>(t.sizes().begin(), t.sizes().end())});
    return out;
}

}  // namespace camsight::ml
