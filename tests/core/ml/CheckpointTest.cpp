// The checkpoint reader: golden key/shape manifests of the tiny SAM files, values of hand-assembled torch.save
// archives (views, shared storages, dtypes, nesting), safetensors, and refusals (truncation, wrong magic, globals
// that would run code).

// LibTorch
#include <caffe2/serialize/inline_container.h>
#include <torch/torch.h>

// Local
#include "core/io/Json.h"
#include "core/ml/Checkpoint.h"
#include "core/ml/internal/Checkpoint.hpp"
#include "tests/support/Checks.h"
#include "tests/support/SharedData.h"

// Std
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

using namespace camsight;

using camsight::test::errorOf;

namespace {

// Emits pickle protocol 2 opcodes, as torch.save does.
struct Pickle {
    std::string b = std::string("\x80\x02", 2);
    Pickle& op(char c) { b += c; return *this; }
    Pickle& str(const std::string& s)
    {
        b += 'X';
        const std::uint32_t n = static_cast<std::uint32_t>(s.size());
        b.append(reinterpret_cast<const char*>(&n), 4);
        b += s;
        return *this;
    }
    Pickle& integer(int v)
    {
        b += 'J';
        b.append(reinterpret_cast<const char*>(&v), 4);
        return *this;
    }
    Pickle& global(const std::string& module, const std::string& name) { b += "c" + module + "\n" + name + "\n"; return *this; }
    Pickle& ints(const std::vector<int>& v)
    {
        op('(');
        for (int x : v)
            integer(x);
        return op('t');
    }
    // torch._utils._rebuild_tensor_v2(storage(key, type, numel), offset, size, stride, False, OrderedDict())
    Pickle& tensor(const std::string& key, const std::string& storageType, int numel, int offset, const std::vector<int>& size,
                   const std::vector<int>& stride)
    {
        global("torch._utils", "_rebuild_tensor_v2").op('(');
        op('(').str("storage").global("torch", storageType).str(key).str("cpu").integer(numel).op('t').op('Q');
        integer(offset).ints(size).ints(stride).op('\x89');
        global("collections", "OrderedDict").op(')').op('R');
        return op('t').op('R');
    }
    Pickle& orderedDict() { return global("collections", "OrderedDict").op(')').op('R'); }
    std::string done() { return b + "."; }
};

std::string archive(const std::string& name, const std::string& pkl, const std::vector<std::pair<std::string, std::string>>& records)
{
    const std::string path = (test::scratchDir() / name).string();
    caffe2::serialize::PyTorchStreamWriter w(path);
    w.writeRecord("data.pkl", pkl.data(), pkl.size());
    for (const auto& [k, v] : records)
        w.writeRecord("data/" + k, v.data(), v.size());
    w.writeEndOfFile();
    return path;
}

template <class T>
std::string raw(const std::vector<T>& v)
{
    return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

}  // namespace

TEST(Checkpoint, TinySamFilesMatchTheirKeyManifests)
{
    CAMSIGHT_REQUIRE_SHARED("golden/sam");
    const auto dir = test::sharedDir() / "golden/sam";
    for (const auto& [file, keys] : {std::pair{"sam_tiny.pth", "keys_sam_tiny.json"},
                                     std::pair{"mobile_sam_tiny.pth", "keys_mobile_sam_tiny.json"}}) {
        SCOPED_TRACE(file);
        const auto entries = ml::inspectCheckpoint((dir / file).string());
        const io::Json want = io::Json::parseFile((dir / keys).string());
        ASSERT_EQ(entries.size(), want.arr.size());
        std::size_t int64s = 0;
        for (std::size_t i = 0; i < entries.size(); ++i) {
            EXPECT_EQ(entries[i].key, want[i][0].str);
            std::vector<std::int64_t> shape;
            for (double d : want[i][1].numbers())
                shape.push_back(static_cast<std::int64_t>(d));
            EXPECT_EQ(entries[i].shape, shape) << entries[i].key;
            const bool counter = entries[i].key.find("num_batches_tracked") != std::string::npos;
            EXPECT_EQ(entries[i].dtype, counter ? "int64" : "float32") << entries[i].key;
            int64s += counter;
        }
        EXPECT_EQ(int64s, std::string(file) == "mobile_sam_tiny.pth" ? 18u : 0u);
    }
}

TEST(Checkpoint, RebuildsViewsSharedStoragesAndDtypes)
{
    // OrderedDict {"w": 2x3 float view at offset 1, "wt": its transpose (same storage), "h": float16, "n": int64 [],
    // "flag": bool}, with _metadata set by BUILD, as torch.save writes a state_dict.
    Pickle p;
    p.orderedDict().op('(');
    p.str("w").tensor("0", "FloatStorage", 8, 1, {2, 3}, {3, 1});
    p.str("wt").tensor("0", "FloatStorage", 8, 1, {3, 2}, {1, 3});
    p.str("h").tensor("1", "HalfStorage", 2, 0, {2}, {1});
    p.str("n").tensor("2", "LongStorage", 1, 0, {}, {});
    p.str("flag").tensor("3", "BoolStorage", 1, 0, {1}, {1});
    p.op('u');
    p.op('}').str("_metadata").orderedDict().op('s').op('b');
    const std::vector<float> f{0, 1, 2, 3, 4, 5, 6, 7};
    const std::vector<at::Half> h{at::Half(1.5f), at::Half(-2.0f)};
    const std::vector<std::int64_t> n{42};
    const std::vector<std::uint8_t> flag{1};
    const std::string path = archive("views.pth", p.done(), {{"0", raw(f)}, {"1", raw(h)}, {"2", raw(n)}, {"3", raw(flag)}});
    const auto sd = ml::loadCheckpoint(path);
    ASSERT_EQ(sd.size(), 5u);
    EXPECT_EQ(sd[0].first, "w");
    EXPECT_TRUE(torch::equal(sd[0].second, torch::tensor({1.f, 2.f, 3.f, 4.f, 5.f, 6.f}).reshape({2, 3})));
    EXPECT_TRUE(torch::equal(sd[1].second, sd[0].second.t()));
    EXPECT_EQ(sd[1].second.data_ptr(), sd[0].second.data_ptr());  // one storage, read once
    EXPECT_EQ(sd[2].second.scalar_type(), torch::kHalf);
    EXPECT_EQ(sd[2].second[1].item<float>(), -2.0f);
    EXPECT_EQ(sd[3].second.dim(), 0);
    EXPECT_EQ(sd[3].second.item<std::int64_t>(), 42);
    EXPECT_TRUE(sd[4].second.item<bool>());
}

TEST(Checkpoint, UnwrapsNestedCheckpointsAndModulePrefixes)
{
    // {"epoch": 3, "model": OrderedDict{"module.a": tensor}} as a DataParallel training script saves it.
    Pickle p;
    p.op('}').op('(').str("epoch").integer(3).str("model").orderedDict().op('(');
    p.str("module.a").tensor("0", "FloatStorage", 2, 0, {2}, {1});
    p.str("module.b").tensor("0", "FloatStorage", 2, 1, {1}, {1});
    p.op('u').op('u');
    const std::string path = archive("nested.pth", p.done(), {{"0", raw(std::vector<float>{7, 8})}});
    const auto sd = ml::loadCheckpoint(path);
    ASSERT_EQ(sd.size(), 2u);
    EXPECT_EQ(sd[0].first, "a");
    EXPECT_EQ(sd[1].first, "b");
    EXPECT_EQ(sd[1].second.item<float>(), 8.0f);
}

TEST(Checkpoint, RefusesCodeAndBrokenFiles)
{
    // A pickle that would call os.system: refused when the global is named, before anything is called.
    Pickle evil;
    evil.global("os", "system").op('(').str("touch /tmp/camsight-pwned").op('t').op('R');
    const std::string evilPath = archive("evil.pth", evil.done(), {});
    EXPECT_EQ(errorOf([&] { ml::loadCheckpoint(evilPath); }),
              evilPath + ": refusing global 'os.system': a checkpoint may only hold tensors and plain containers, and "
                         "CamSight never runs code from a checkpoint");
    Pickle builtin;
    builtin.global("builtins", "eval").op('(').str("1").op('t').op('R');
    const std::string evalPath = archive("eval.pth", builtin.done(), {});
    EXPECT_NE(errorOf([&] { ml::loadCheckpoint(evalPath); }).find("refusing global 'builtins.eval'"), std::string::npos);

    // A view reaching past its storage, and a storage record that is missing.
    Pickle far;
    far.orderedDict().str("w").tensor("0", "FloatStorage", 4, 2, {3}, {1}).op('s');
    const std::string farPath = archive("far.pth", far.done(), {{"0", raw(std::vector<float>{1, 2, 3, 4})}});
    EXPECT_EQ(errorOf([&] { ml::loadCheckpoint(farPath); }), farPath + ": a tensor reaches element 4 of a storage of 4");
    const std::string missingPath = archive("missing.pth", far.done(), {});
    EXPECT_EQ(errorOf([&] { ml::loadCheckpoint(missingPath); }), missingPath + ": storage record 'data/0' is missing");
    const std::string shortPath = archive("short.pth", far.done(), {{"0", raw(std::vector<float>{1})}});
    EXPECT_EQ(errorOf([&] { ml::loadCheckpoint(shortPath); }),
              shortPath + ": storage 'data/0' holds 4 bytes, 4 float32 values need 16");

    // A truncated pickle, wrong magic, a legacy file, a missing file.
    const std::string cut = far.done().substr(0, 40);
    const std::string cutPath = archive("cut.pth", cut, {{"0", raw(std::vector<float>{1, 2, 3, 4})}});
    EXPECT_EQ(errorOf([&] { ml::loadCheckpoint(cutPath); }), cutPath + ": data.pkl is truncated");
    const std::string text = (test::scratchDir() / "notes.pth").string();
    std::ofstream(text) << "hello";
    EXPECT_EQ(errorOf([&] { ml::loadCheckpoint(text); }),
              text + ": not a PyTorch checkpoint (neither a torch.save zip archive nor .safetensors)");
    const std::string legacy = (test::scratchDir() / "legacy.pth").string();
    std::ofstream(legacy, std::ios::binary) << std::string("\x80\x02\x8a\x0a", 4);
    EXPECT_EQ(errorOf([&] { ml::loadCheckpoint(legacy); }),
              legacy + ": a legacy (pre-1.6) torch.save file; re-save it with a current PyTorch (zip format)");
    EXPECT_EQ(errorOf([&] { ml::loadCheckpoint("/nonexistent/sam.pth"); }), "/nonexistent/sam.pth: cannot open the checkpoint file");
}

TEST(Checkpoint, TruncatedRealCheckpointIsRefused)
{
    CAMSIGHT_REQUIRE_SHARED("golden/sam");
    std::ifstream in((test::sharedDir() / "golden/sam/sam_tiny.pth").string(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::string half = (test::scratchDir() / "half.pth").string();
    std::ofstream(half, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
    const std::string e = errorOf([&] { ml::loadCheckpoint(half); });
    EXPECT_EQ(e.rfind(half + ": ", 0), 0u) << e;
    EXPECT_NE(e, "no error");
}

TEST(Checkpoint, WritesWhatItReads)
{
    ml::StateDict sd;
    sd.emplace_back("a.weight", torch::arange(12, torch::kFloat32).reshape({3, 4}).t());  // non-contiguous in memory
    sd.emplace_back("a.count", torch::tensor(7, torch::kLong));
    sd.emplace_back("b.half", torch::tensor({0.5, -1.25}).to(torch::kHalf));
    sd.emplace_back("big.index", torch::tensor({std::int64_t(1) << 40}));
    const std::string path = (test::scratchDir() / "written.pth").string();
    ml::saveCheckpoint(sd, path);
    const auto back = ml::loadCheckpoint(path);
    ASSERT_EQ(back.size(), sd.size());
    for (std::size_t i = 0; i < sd.size(); ++i) {
        EXPECT_EQ(back[i].first, sd[i].first);
        EXPECT_EQ(back[i].second.scalar_type(), sd[i].second.scalar_type());
        EXPECT_TRUE(torch::equal(back[i].second, sd[i].second)) << sd[i].first;
    }
}

TEST(Checkpoint, ReadsSafetensors)
{
    const std::string header = R"({"__metadata__": {"format": "pt"}, "a": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},)"
                               R"( "b": {"dtype": "I64", "shape": [], "data_offsets": [16, 24]}})";
    std::string file;
    const std::uint64_t n = header.size();
    file.append(reinterpret_cast<const char*>(&n), 8);
    file += header;
    file += raw(std::vector<float>{1, 2, 3, 4});
    file += raw(std::vector<std::int64_t>{-5});
    const std::string path = (test::scratchDir() / "t.safetensors").string();
    std::ofstream(path, std::ios::binary) << file;
    const auto sd = ml::loadCheckpoint(path);
    ASSERT_EQ(sd.size(), 2u);
    EXPECT_TRUE(torch::equal(sd[0].second, torch::tensor({1.f, 2.f, 3.f, 4.f}).reshape({2, 2})));
    EXPECT_EQ(sd[1].second.item<std::int64_t>(), -5);

    std::string bad = file;
    bad.replace(bad.find("[16, 24]"), 8, "[16, 99]");
    const std::string badPath = (test::scratchDir() / "bad.safetensors").string();
    std::ofstream(badPath, std::ios::binary) << bad;
    EXPECT_EQ(errorOf([&] { ml::loadCheckpoint(badPath); }),
              badPath + ": entry 'b' has data_offsets outside the file or of the wrong size");
}
