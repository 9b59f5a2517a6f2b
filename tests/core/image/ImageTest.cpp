// Local
#include "core/image/Geometry.h"
#include "core/image/Volume.h"
#include "core/image/WindowLevel.h"

// Std
#include <gtest/gtest.h>

#include <cmath>

using namespace camsight::image;

TEST(Geometry, IndexToPhysicalAndBackWithObliqueDirection)
{
    Geometry g;
    g.spacing = {0.5, 0.8, 2.0};
    g.origin = {-100, 20, 35};
    const double c = std::cos(0.3), s = std::sin(0.3);
    g.direction = {c, 0, s, 0, 1, 0, -s, 0, c};  // columns: i, j, k axes
    const Vec3 p = g.indexToPhysical({10, 4, 3});
    EXPECT_NEAR(p[0], -100 + c * 5 + s * 6, 1e-12);
    EXPECT_NEAR(p[1], 20 + 3.2, 1e-12);
    EXPECT_NEAR(p[2], 35 - s * 5 + c * 6, 1e-12);
    const Vec3 back = g.physicalToIndex(p);
    EXPECT_NEAR(back[0], 10, 1e-9);
    EXPECT_NEAR(back[1], 4, 1e-9);
    EXPECT_NEAR(back[2], 3, 1e-9);
    EXPECT_STREQ(Geometry::dominantLetter({-0.9, 0.1, 0.2}), "R");
    EXPECT_STREQ(Geometry::dominantLetter({0.1, 0.1, -0.99}), "I");
}

TEST(Volume, LayoutIsColumnsThenRowsThenSlices)
{
    Volume<short> v({4, 3, 2});
    v.at(3, 2, 1) = 7;
    EXPECT_EQ(v.data()[3 + 4 * (2 + 3 * 1)], 7);
    EXPECT_EQ(v.slice(1)[3 + 4 * 2], 7);
}

TEST(Volume, AbsurdSizesAreRefusedBeforeAllocation)
{
    EXPECT_THROW((Volume<float>({0, 10, 10})), std::invalid_argument);
    EXPECT_THROW((Volume<float>({1u << 20, 1u << 20, 1u << 20})), std::length_error);
    try {
        Volume<float>({65536, 65536, 65536});
        FAIL() << "no exception";
    } catch (const std::length_error& e) {
        EXPECT_NE(std::string(e.what()).find("65536x65536x65536"), std::string::npos) << e.what();
    }
}

TEST(WindowLevel, FollowsDicomLinearFunction)
{
    // PS3.3 C.11.2.1.2.1 with center 40, width 400: x <= -160.5 -> 0, x > 239.5 -> 255.
    const std::vector<short> in{-1000, -161, -160, 40, 239, 240, 3000};
    std::vector<std::uint8_t> out(in.size());
    applyWindow(in.data(), in.size(), {40, 400, false}, out.data());
    EXPECT_EQ(out[0], 0);
    EXPECT_EQ(out[1], 0);
    EXPECT_EQ(out[2], 0);  // (-160 + 160.5) / 399 * 255 = 0.32 -> 0
    EXPECT_EQ(out[3], 128);  // (40 + 160.5) / 399 * 255 = 128.1
    EXPECT_EQ(out[4], 255);  // 254.7 rounds to 255
    EXPECT_EQ(out[5], 255);
    EXPECT_EQ(out[6], 255);
    applyWindow(in.data(), in.size(), {40, 400, true}, out.data());
    EXPECT_EQ(out[0], 255);
    EXPECT_EQ(out[6], 0);
}

TEST(WindowLevel, AutoWindowSpansTheRange)
{
    const std::vector<float> in{-50.f, 0.f, 150.f};
    const WindowLevel wl = autoWindow(in.data(), in.size());
    std::vector<std::uint8_t> out(3);
    applyWindow(in.data(), 3, wl, out.data());
    EXPECT_EQ(out[0], 0);
    EXPECT_EQ(out[2], 255);
}
