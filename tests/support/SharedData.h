#pragma once
// Std
#include <cstdlib>
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
