// Local
#include "core/io/Npy.h"
#include "tests/support/SharedData.h"

// Std
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

using namespace camsight::io;
namespace fs = std::filesystem;

namespace {

fs::path tempFile(const std::string& name) { return camsight::test::scratchDir() / ("npy_" + name); }

TEST(Npy, RoundTripFloatAndUint8)
{
    const std::vector<float> f{1.5f, -2.f, 3.25f, 0.f, 7.f, 8.f};
    writeNpy(tempFile("f.npy").string(), f.data(), {2, 3});
    const NpyArray a = readNpy(tempFile("f.npy").string());
    EXPECT_EQ(a.type, NpyType::Float32);
    EXPECT_EQ(a.shape, (std::vector<std::size_t>{2, 3}));
    EXPECT_EQ(a.toFloat(), f);
    EXPECT_EQ(a.shapeString(), "(2, 3)");
    // NumPy requires the header (magic + length + dict) to be a multiple of 64 bytes.
    EXPECT_EQ((fs::file_size(tempFile("f.npy")) - f.size() * 4) % 64, 0u);

    const std::vector<std::uint8_t> u{0, 1, 255};
    writeNpy(tempFile("u.npy").string(), u.data(), {3});
    const NpyArray b = readNpy(tempFile("u.npy").string());
    EXPECT_EQ(b.type, NpyType::UInt8);
    EXPECT_EQ(b.shapeString(), "(3,)");
    EXPECT_EQ(b.toDouble(), (std::vector<double>{0, 1, 255}));
}

TEST(Npy, ReadsFilesWrittenByNumpy)
{
    CAMSIGHT_REQUIRE_SHARED("golden/metrics");
    const auto dir = camsight::test::sharedDir() / "golden/metrics/cases/blob_inside_64";
    const NpyArray h = readNpy((dir / "heatmap.npy").string());
    EXPECT_EQ(h.type, NpyType::Float32);
    EXPECT_EQ(h.shape, (std::vector<std::size_t>{64, 64}));
    const NpyArray v = readNpy((dir / "values.npy").string());
    EXPECT_EQ(v.type, NpyType::Float64);
    EXPECT_EQ(v.shape, (std::vector<std::size_t>{64}));
    EXPECT_DOUBLE_EQ(v.toDouble()[3], 4096.0);  // own.n_pixels
}

void expectError(const std::string& bytes, const std::string& fragment)
{
    const auto p = tempFile("bad.npy");
    {
        std::ofstream out(p, std::ios::binary);
        out << bytes;
    }
    try {
        readNpy(p.string());
        FAIL() << "no error for " << fragment;
    } catch (const std::runtime_error& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find(p.string()), std::string::npos) << msg;
        EXPECT_NE(msg.find(fragment), std::string::npos) << msg;
    }
}

std::string header(const std::string& dict)
{
    std::string h = dict;
    while ((10 + h.size() + 1) % 64)
        h += ' ';
    h += '\n';
    return std::string("\x93NUMPY\x01\x00", 8) + char(h.size() & 0xff) + char(h.size() >> 8) + h;
}

TEST(Npy, BadFilesGiveErrorsNamingFileAndProblem)
{
    expectError("PK\x03\x04 not numpy", "bad magic");
    expectError(header("{'descr': '<f4', 'fortran_order': False, 'shape': (100, 100), }") + "abcd", "truncated");
    expectError(header("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }") + "abcd", "unsupported dtype");
    expectError(header("{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }") + "abcd", "Fortran");
    expectError(header("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296), }"),
                "too large");
    expectError(std::string("\x93NUMPY\x01\x00", 8), "truncated");
    EXPECT_THROW(readNpy("/nonexistent/x.npy"), std::runtime_error);
}

}  // namespace
