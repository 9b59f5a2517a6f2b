#include "core/ml/Checkpoint.h"

// Local
#include "core/io/Json.h"
#include "core/ml/internal/Checkpoint.hpp"

// LibTorch
#include <caffe2/serialize/inline_container.h>

// Std
#include <cstring>
#include <fstream>
#include <map>
#include <memory>

namespace camsight::ml {
namespace {

// ---- A pickle machine for state dicts ------------------------------------------------------------------------------

struct Obj;
using Ref = std::shared_ptr<Obj>;

struct Obj {
    enum class Kind { None, Bool, Int, Float, Str, Tuple, List, Dict, Tensor, Global, Storage } kind = Kind::None;
    bool b = false;
    std::int64_t i = 0;
    double f = 0;
    std::string s;  // Str; Global: "module.name"
    std::vector<Ref> items;
    std::vector<std::pair<Ref, Ref>> dict;
    torch::Tensor tensor;  // Tensor; Storage: a 1-D tensor over the storage's bytes
};

Ref make(Obj::Kind k)
{
    auto o = std::make_shared<Obj>();
    o->kind = k;
    return o;
}

const char* kindName(Obj::Kind k)
{
    switch (k) {
    case Obj::Kind::None: return "None";
    case Obj::Kind::Bool: return "bool";
    case Obj::Kind::Int: return "int";
    case Obj::Kind::Float: return "float";
    case Obj::Kind::Str: return "str";
    case Obj::Kind::Tuple: return "tuple";
    case Obj::Kind::List: return "list";
    case Obj::Kind::Dict: return "dict";
    case Obj::Kind::Tensor: return "tensor";
    case Obj::Kind::Global: return "global";
    case Obj::Kind::Storage: return "storage";
    }
    return "?";
}

const std::map<std::string, c10::ScalarType>& storageTypes()
{
    static const std::map<std::string, c10::ScalarType> m = {
        {"torch.FloatStorage", c10::kFloat},      {"torch.DoubleStorage", c10::kDouble},
        {"torch.HalfStorage", c10::kHalf},        {"torch.BFloat16Storage", c10::kBFloat16},
        {"torch.LongStorage", c10::kLong},        {"torch.IntStorage", c10::kInt},
        {"torch.ShortStorage", c10::kShort},      {"torch.CharStorage", c10::kChar},
        {"torch.ByteStorage", c10::kByte},        {"torch.BoolStorage", c10::kBool},
        {"torch.ComplexFloatStorage", c10::kComplexFloat}, {"torch.ComplexDoubleStorage", c10::kComplexDouble},
    };
    return m;
}

bool allowedGlobal(const std::string& g)
{
    return g == "collections.OrderedDict" || g == "torch._utils._rebuild_tensor_v2" ||
           g == "torch._utils._rebuild_parameter" || g == "torch._utils._rebuild_parameter_with_state" ||
           storageTypes().count(g) > 0;
}

class Unpickler {
public:
    Unpickler(const std::string& file, const std::uint8_t* data, std::size_t size,
              std::function<torch::Tensor(const std::string& key, c10::ScalarType, std::int64_t numel)> loadStorage)
        : m_file(file), m_p(data), m_end(data + size), m_loadStorage(std::move(loadStorage))
    {
    }

    Ref run()
    {
        for (;;) {
            const std::uint8_t op = u8();
            switch (op) {
            case 0x80: u8(); break;            // PROTO
            case 0x95: bytes(8); break;        // FRAME
            case '}': push(make(Obj::Kind::Dict)); break;
            case ']': push(make(Obj::Kind::List)); break;
            case ')': push(make(Obj::Kind::Tuple)); break;
            case '(': m_marks.push_back(m_stack.size()); break;
            case 'N': push(make(Obj::Kind::None)); break;
            case 0x88: case 0x89: {
                auto o = make(Obj::Kind::Bool);
                o->b = op == 0x88;
                push(o);
                break;
            }
            case 'J': pushInt(static_cast<std::int32_t>(le(4))); break;
            case 'K': pushInt(static_cast<std::int64_t>(u8())); break;
            case 'M': pushInt(static_cast<std::int64_t>(le(2))); break;
            case 0x8a: pushLong(u8()); break;  // LONG1
            case 0x8b: pushLong(static_cast<std::size_t>(le(4))); break;
            case 'G': {
                std::uint64_t b = 0;
                for (int k = 0; k < 8; ++k)
                    b = (b << 8) | u8();
                auto o = make(Obj::Kind::Float);
                std::memcpy(&o->f, &b, 8);
                push(o);
                break;
            }
            case 'X': pushStr(static_cast<std::size_t>(le(4))); break;   // BINUNICODE
            case 0x8c: pushStr(u8()); break;                              // SHORT_BINUNICODE
            case 0x8d: pushStr(static_cast<std::size_t>(le(8))); break;   // BINUNICODE8
            case 'T': pushStr(static_cast<std::size_t>(le(4))); break;    // BINSTRING
            case 'U': pushStr(u8()); break;                               // SHORT_BINSTRING
            case 'q': memo(u8()); break;
            case 'r': memo(static_cast<std::size_t>(le(4))); break;
            case 0x94: memo(m_memo.size()); break;  // MEMOIZE
            case 'h': push(recall(u8())); break;
            case 'j': push(recall(static_cast<std::size_t>(le(4)))); break;
            case 'c': {
                const std::string module = line(), name = line();
                push(global(module + "." + name));
                break;
            }
            case 0x93: {  // STACK_GLOBAL
                const Ref name = pop(), module = pop();
                if (module->kind != Obj::Kind::Str || name->kind != Obj::Kind::Str)
                    fail("STACK_GLOBAL without names");
                push(global(module->s + "." + name->s));
                break;
            }
            case 'Q': push(persistent(pop())); break;
            case 't': {
                auto o = make(Obj::Kind::Tuple);
                o->items = popMark();
                push(o);
                break;
            }
            case 0x85: case 0x86: case 0x87: {
                const int n = op - 0x84;
                auto o = make(Obj::Kind::Tuple);
                o->items.resize(n);
                for (int k = n - 1; k >= 0; --k)
                    o->items[k] = pop();
                push(o);
                break;
            }
            case 'R': {
                const Ref args = pop(), fn = pop();
                push(reduce(fn, args));
                break;
            }
            case 'b': {  // BUILD: state for the object below; only a dict's metadata or a tensor's (empty) state
                const Ref state = pop();
                const Ref& target = top();
                if (target->kind != Obj::Kind::Dict && target->kind != Obj::Kind::Tensor)
                    fail(std::string("BUILD on a ") + kindName(target->kind));
                break;
            }
            case 's': {
                const Ref v = pop(), k = pop();
                dictOf(top())->dict.emplace_back(k, v);
                break;
            }
            case 'u': {
                auto items = popMark();
                if (items.size() % 2)
                    fail("SETITEMS with an odd number of items");
                const Ref d = dictOf(top());
                for (std::size_t k = 0; k < items.size(); k += 2)
                    d->dict.emplace_back(items[k], items[k + 1]);
                break;
            }
            case 'a': {
                const Ref v = pop();
                listOf(top())->items.push_back(v);
                break;
            }
            case 'e': {
                auto items = popMark();
                const Ref l = listOf(top());
                l->items.insert(l->items.end(), items.begin(), items.end());
                break;
            }
            case '0': pop(); break;
            case '1': popMark(); break;
            case '2': push(top()); break;
            case '.': {
                if (m_stack.size() != 1)
                    fail("STOP with " + std::to_string(m_stack.size()) + " values on the stack");
                return m_stack.back();
            }
            default: {
                char buf[8];
                std::snprintf(buf, sizeof buf, "0x%02x", op);
                fail(std::string("unsupported pickle opcode ") + buf + " (not something a state_dict contains)");
            }
            }
        }
    }

private:
    std::string m_file;
    const std::uint8_t* m_p;
    const std::uint8_t* m_end;
    std::function<torch::Tensor(const std::string&, c10::ScalarType, std::int64_t)> m_loadStorage;
    std::vector<Ref> m_stack;
    std::vector<std::size_t> m_marks;
    std::map<std::size_t, Ref> m_memo;
    std::map<std::string, Ref> m_storages;

    [[noreturn]] void fail(const std::string& what) const { throw CheckpointError(m_file + ": " + what); }
    std::uint8_t u8()
    {
        if (m_p >= m_end)
            fail("data.pkl is truncated");
        return *m_p++;
    }
    const std::uint8_t* bytes(std::size_t n)
    {
        if (std::size_t(m_end - m_p) < n)
            fail("data.pkl is truncated");
        const std::uint8_t* at = m_p;
        m_p += n;
        return at;
    }
    std::uint64_t le(int n)
    {
        const std::uint8_t* b = bytes(std::size_t(n));
        std::uint64_t v = 0;
        for (int k = n - 1; k >= 0; --k)
            v = (v << 8) | b[k];
        return v;
    }
    std::string line()
    {
        std::string s;
        for (;;) {
            const char c = static_cast<char>(u8());
            if (c == '\n')
                return s;
            if (s.size() > 256)
                fail("GLOBAL name too long");
            s += c;
        }
    }
    void push(Ref r)
    {
        if (m_stack.size() > 10'000'000)
            fail("pickle stack overflow");
        m_stack.push_back(std::move(r));
    }
    Ref pop()
    {
        if (m_stack.empty() || (!m_marks.empty() && m_stack.size() <= m_marks.back()))
            fail("pickle stack underflow");
        Ref r = m_stack.back();
        m_stack.pop_back();
        return r;
    }
    const Ref& top() const
    {
        if (m_stack.empty())
            fail("pickle stack underflow");
        return m_stack.back();
    }
    std::vector<Ref> popMark()
    {
        if (m_marks.empty())
            fail("pickle MARK missing");
        const std::size_t at = m_marks.back();
        m_marks.pop_back();
        if (at > m_stack.size())
            fail("pickle MARK beyond the stack");
        std::vector<Ref> items(m_stack.begin() + std::ptrdiff_t(at), m_stack.end());
        m_stack.resize(at);
        return items;
    }
    void pushInt(std::int64_t v)
    {
        auto o = make(Obj::Kind::Int);
        o->i = v;
        push(o);
    }
    void pushLong(std::size_t n)
    {
        if (n > 8)
            fail("integer wider than 64 bits");
        const std::uint8_t* b = bytes(n);
        std::uint64_t v = 0;
        for (std::size_t k = n; k-- > 0;)
            v = (v << 8) | b[k];
        if (n > 0 && n < 8 && (b[n - 1] & 0x80))
            v |= ~std::uint64_t(0) << (8 * n);  // sign extension
        pushInt(static_cast<std::int64_t>(v));
    }
    void pushStr(std::size_t n)
    {
        auto o = make(Obj::Kind::Str);
        const std::uint8_t* b = bytes(n);
        o->s.assign(reinterpret_cast<const char*>(b), n);
        push(o);
    }
    void memo(std::size_t k) { m_memo[k] = top(); }
    Ref recall(std::size_t k) const
    {
        const auto it = m_memo.find(k);
        if (it == m_memo.end())
            fail("pickle memo " + std::to_string(k) + " is missing");
        return it->second;
    }
    Ref global(const std::string& name)
    {
        if (!allowedGlobal(name))
            fail("refusing global '" + name + "': a checkpoint may only hold tensors and plain containers, and "
                 "CamSight never runs code from a checkpoint");
        auto o = make(Obj::Kind::Global);
        o->s = name;
        return o;
    }
    Ref dictOf(const Ref& r) const
    {
        if (r->kind != Obj::Kind::Dict)
            fail(std::string("SETITEM on a ") + kindName(r->kind));
        return r;
    }
    Ref listOf(const Ref& r) const
    {
        if (r->kind != Obj::Kind::List)
            fail(std::string("APPEND on a ") + kindName(r->kind));
        return r;
    }
    std::int64_t intOf(const Ref& r, const char* what) const
    {
        if (r->kind != Obj::Kind::Int)
            fail(std::string(what) + " is a " + kindName(r->kind) + ", not an int");
        return r->i;
    }
    std::vector<std::int64_t> intsOf(const Ref& r, const char* what) const
    {
        if (r->kind != Obj::Kind::Tuple && r->kind != Obj::Kind::List)
            fail(std::string(what) + " is not a tuple");
        std::vector<std::int64_t> v;
        for (const auto& e : r->items)
            v.push_back(intOf(e, what));
        return v;
    }
    Ref persistent(const Ref& pid)
    {
        // ('storage', torch.<Type>Storage, key, location, numel)
        if (pid->kind != Obj::Kind::Tuple || pid->items.size() < 5 || pid->items[0]->kind != Obj::Kind::Str ||
            pid->items[0]->s != "storage" || pid->items[1]->kind != Obj::Kind::Global || pid->items[2]->kind != Obj::Kind::Str)
            fail("unsupported persistent id (only tensor storages are read)");
        const auto type = storageTypes().find(pid->items[1]->s);
        if (type == storageTypes().end())
            fail("unsupported storage type '" + pid->items[1]->s + "'");
        const std::string key = pid->items[2]->s;
        const std::int64_t numel = intOf(pid->items[4], "storage size");
        if (numel < 0)
            fail("negative storage size");
        auto it = m_storages.find(key);
        if (it != m_storages.end())
            return it->second;
        auto o = make(Obj::Kind::Storage);
        o->tensor = m_loadStorage(key, type->second, numel);
        m_storages[key] = o;
        return o;
    }
    Ref reduce(const Ref& fn, const Ref& args)
    {
        if (fn->kind != Obj::Kind::Global)
            fail("REDUCE on a " + std::string(kindName(fn->kind)));
        if (args->kind != Obj::Kind::Tuple)
            fail("REDUCE without an argument tuple");
        const auto& a = args->items;
        if (fn->s == "collections.OrderedDict") {
            if (!a.empty())
                fail("OrderedDict with arguments");
            return make(Obj::Kind::Dict);
        }
        if (fn->s == "torch._utils._rebuild_parameter" || fn->s == "torch._utils._rebuild_parameter_with_state") {
            if (a.empty() || a[0]->kind != Obj::Kind::Tensor)
                fail("_rebuild_parameter without a tensor");
            return a[0];
        }
        if (fn->s == "torch._utils._rebuild_tensor_v2") {
            if (a.size() < 4 || a[0]->kind != Obj::Kind::Storage)
                fail("_rebuild_tensor_v2 without a storage");
            const torch::Tensor& storage = a[0]->tensor;
            const std::int64_t offset = intOf(a[1], "storage offset");
            const auto size = intsOf(a[2], "tensor size");
            const auto stride = intsOf(a[3], "tensor stride");
            if (size.size() != stride.size())
                fail("tensor size and stride differ in rank");
            std::int64_t last = offset, elements = 1;
            for (std::size_t d = 0; d < size.size(); ++d) {
                if (size[d] < 0 || stride[d] < 0)
                    fail("negative tensor size or stride");
                elements *= size[d];
                if (size[d] > 0)
                    last += (size[d] - 1) * stride[d];
            }
            if (offset < 0 || (elements > 0 && last >= storage.numel()))
                fail("a tensor reaches element " + std::to_string(last) + " of a storage of " +
                     std::to_string(storage.numel()));
            auto o = make(Obj::Kind::Tensor);
            o->tensor = elements == 0 ? torch::empty(size, storage.options()) : storage.as_strided(size, stride, offset);
            return o;
        }
        fail("cannot call '" + fn->s + "'");  // storage types are never called in a state_dict
    }
};

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
bool collectTensors(const Ref& r, StateDict* out)
{
    if (r->kind != Obj::Kind::Dict)
        return false;
    bool any = false;
    for (const auto& [k, v] : r->dict)
        if (k->kind == Obj::Kind::Str && v->kind == Obj::Kind::Tensor) {
            out->emplace_back(k->s, v->tensor);
            any = true;
        }
    return any;
}

StateDict unwrap(const Ref& root, const std::string& path)
{
    StateDict out;
    auto nested = [&]() {
        for (const char* name : {"state_dict", "model", "model_state_dict", "module", "net"})
            for (const auto& [k, v] : root->dict)
                if (k->kind == Obj::Kind::Str && k->s == name && collectTensors(v, &out))
                    return true;
        return false;
    };
    if (!collectTensors(root, &out) && root->kind == Obj::Kind::Dict)
        nested();
    if (out.empty())
        throw CheckpointError(path + ": no tensors found (expected a state_dict, or one under \"state_dict\" or \"model\")");
    bool prefixed = true;
    for (const auto& [k, t] : out)
        prefixed = prefixed && k.rfind("module.", 0) == 0;
    if (prefixed)
        for (auto& [k, t] : out)
            k = k.substr(7);
    return out;
}

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
    Unpickler u(path, static_cast<const std::uint8_t*>(pkl.get()), pklSize, loadStorage);
    return unwrap(u.run(), path);
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
    static const std::map<c10::ScalarType, std::string> storageNames = {
        {c10::kFloat, "FloatStorage"}, {c10::kDouble, "DoubleStorage"}, {c10::kHalf, "HalfStorage"},
        {c10::kBFloat16, "BFloat16Storage"}, {c10::kLong, "LongStorage"}, {c10::kInt, "IntStorage"},
        {c10::kShort, "ShortStorage"}, {c10::kChar, "CharStorage"}, {c10::kByte, "ByteStorage"}, {c10::kBool, "BoolStorage"}};
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
