// The JSON reader used for model sidecars: valid documents, Python's NaN/Infinity, and clear errors for bad input.

// Local
#include "core/io/Json.h"

// Std
#include <gtest/gtest.h>

#include <cmath>
#include <string>

using camsight::io::Json;

TEST(Json, ReadsNestedDocuments)
{
    const Json j = Json::parse(R"( {"a": [1, -2.5e3, true, false, null], "s": "x\"\u00e9\ud83d\ude00", "o": {}} )");
    ASSERT_EQ(j.type, Json::Type::Object);
    EXPECT_EQ(j["a"].numbers().size(), 5u);
    EXPECT_EQ(j["a"][1].num, -2500.0);
    EXPECT_TRUE(j["a"][2].boolean);
    EXPECT_TRUE(std::isnan(j["a"][4].number()));
    EXPECT_EQ(j["s"].str, "x\"\xc3\xa9\xf0\x9f\x98\x80");
    EXPECT_TRUE(j["o"].obj.empty());
    EXPECT_EQ(j.find("missing"), nullptr);
    EXPECT_THROW(j["missing"], std::out_of_range);
}

TEST(Json, ReadsPythonSpecialNumbers)
{
    const Json j = Json::parse("[NaN, Infinity, -Infinity]");
    EXPECT_TRUE(std::isnan(j[0].num));
    EXPECT_EQ(j[1].num, HUGE_VAL);
    EXPECT_EQ(j[2].num, -HUGE_VAL);
    EXPECT_EQ(Json::parse("Infinity").num, HUGE_VAL);
}

TEST(Json, RejectsMalformedInputWithItsPosition)
{
    auto error = [](const std::string& text) {
        try {
            Json::parse(text);
        } catch (const std::runtime_error& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    EXPECT_EQ(error("{\"a\": 1,\n \"b\" 2}"), "JSON: expected ':' at line 2, column 6");
    EXPECT_EQ(error("[1, 2"), "JSON: expected ']' at line 1, column 6");
    EXPECT_EQ(error("\"abc"), "JSON: unterminated string at line 1, column 5");
    EXPECT_EQ(error("[1] x"), "JSON: unexpected text after the value at line 1, column 5");
    EXPECT_EQ(error(""), "JSON: unexpected end at line 1, column 1");
    EXPECT_EQ(error("[1.2.3]"), "JSON: malformed number at line 1, column 2");
    EXPECT_EQ(error("\"\\u12\""), "JSON: truncated \\u escape at line 1, column 4");
    EXPECT_EQ(error("\"\\u12zz\""), "JSON: bad \\u escape at line 1, column 7");
    EXPECT_EQ(error(std::string(300, '[') + std::string(300, ']')), "JSON: nesting deeper than 256 at line 1, column 258");
    EXPECT_THROW(Json::parseFile("/nonexistent/sidecar.json"), std::runtime_error);
}
