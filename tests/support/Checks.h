#pragma once
// Small helpers shared by the test suites.

// Std
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <functional>
#include <string>
#include <vector>

namespace camsight::test {

/// The message of the exception `f` throws, or "no error".
inline std::string errorOf(const std::function<void()>& f)
{
    try {
        f();
    } catch (const std::exception& e) {
        return e.what();
    }
    return "no error";
}

/// Max-abs difference between `got` and `want` (a different count fails the calling test).
inline double maxDiff(const std::vector<float>& got, const std::vector<float>& want)
{
    EXPECT_EQ(got.size(), want.size());
    double m = 0;
    for (std::size_t i = 0; i < std::min(got.size(), want.size()); ++i)
        m = std::max(m, double(std::fabs(got[i] - want[i])));
    return m;
}

}  // namespace camsight::test
