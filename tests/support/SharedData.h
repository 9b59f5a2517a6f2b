#pragma once
// Std
#include <cstdlib>
#include <stdexcept>
#include <stdlib.h>
#include <filesystem>
#include <string>

namespace camsight::test {

/// ../shared beside the checkout (CAMSIGHT_SHARED_DIR at configure time, or the CAMSIGHT_SHARED environment
/// variable). Tests that need it skip visibly when it is absent: a user's clone has none.
inline std::filesystem::path sharedDir()
{
    if (const char* env = std::getenv("CAMSIGHT_SHARED"))
        return env;
    return CAMSIGHT_SHARED_DIR;
}

inline bool haveShared(const std::string& sub) { return std::filesystem::exists(sharedDir() / sub); }

}  // namespace camsight::test

/// Skips the current GoogleTest test, with a message CTest reports as a skip, when ../shared/<sub> is absent.
#define CAMSIGHT_REQUIRE_SHARED(sub)                                                                         \
    do {                                                                                                     \
        if (!camsight::test::haveShared(sub))                                                                \
            GTEST_SKIP() << "../shared/" << (sub) << " is absent (" << camsight::test::sharedDir().string() \
                         << "): golden comparison skipped";                                                  \
    } while (0)

namespace camsight::test {

/// A fresh folder for this test process's files (unique per process, so concurrent test runs never share files).
inline std::filesystem::path scratchDir()
{
    struct Scratch {
        std::filesystem::path dir;
        Scratch()
        {
            std::string tmpl = (std::filesystem::temp_directory_path() / "camsight-test-XXXXXX").string();
            if (!mkdtemp(tmpl.data()))
                throw std::runtime_error("cannot create a temporary folder from " + tmpl);
            dir = tmpl;
        }
        ~Scratch()
        {
            std::error_code ec;
            std::filesystem::remove_all(dir, ec);
        }
    };
    static const Scratch scratch;
    return scratch.dir;
}

}  // namespace camsight::test
