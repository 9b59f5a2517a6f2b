// The pickle part of PyTorch's checkpoint format: a machine that knows only what a state_dict needs.

// Local
#include "core/ml/internal/Pickle.hpp"

// Std
#include <cstring>
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

}  // namespace

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

StateDict readStateDictPickle(const std::string& file, const std::uint8_t* data, std::size_t size, const StorageLoader& load)
{
    Unpickler u(file, data, size, load);
    return unwrap(u.run(), file);
}

}  // namespace camsight::ml
