#include "tests/support/MiniJson.h"

// Std
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>
#include <stdexcept>

namespace camsight::test {
namespace {

struct Parser {
    const std::string& t;
    std::size_t p = 0;

    void ws()
    {
        while (p < t.size() && (t[p] == ' ' || t[p] == '\n' || t[p] == '\r' || t[p] == '\t'))
            ++p;
    }
    [[noreturn]] void fail(const char* what) { throw std::runtime_error(std::string("JSON: ") + what + " at " + std::to_string(p)); }
    std::string string()
    {
        if (t[p] != '"')
            fail("expected string");
        ++p;
        std::string out;
        while (p < t.size() && t[p] != '"') {
            if (t[p] == '\\') {
                ++p;
                const char c = t[p];
                if (c == 'n') out += '\n';
                else if (c == 't') out += '\t';
                else if (c == 'u') {
                    const long cp = std::strtol(t.substr(p + 1, 4).c_str(), nullptr, 16);
                    if (cp < 0x80) out += char(cp);
                    else if (cp < 0x800) { out += char(0xC0 | (cp >> 6)); out += char(0x80 | (cp & 0x3F)); }
                    else { out += char(0xE0 | (cp >> 12)); out += char(0x80 | ((cp >> 6) & 0x3F)); out += char(0x80 | (cp & 0x3F)); }
                    p += 4;
                } else out += c;
                ++p;
            } else {
                out += t[p++];
            }
        }
        ++p;
        return out;
    }
    Json value()
    {
        ws();
        Json j;
        if (p >= t.size())
            fail("unexpected end");
        const char c = t[p];
        if (c == '{') {
            j.type = Json::Type::Object;
            ++p;
            ws();
            if (t[p] == '}') { ++p; return j; }
            while (true) {
                ws();
                std::string k = string();
                ws();
                if (t[p++] != ':') fail("expected ':'");
                j.obj.emplace_back(std::move(k), value());
                ws();
                if (t[p] == ',') { ++p; continue; }
                if (t[p] == '}') { ++p; break; }
                fail("expected ',' or '}'");
            }
        } else if (c == '[') {
            j.type = Json::Type::Array;
            ++p;
            ws();
            if (t[p] == ']') { ++p; return j; }
            while (true) {
                j.arr.push_back(value());
                ws();
                if (t[p] == ',') { ++p; continue; }
                if (t[p] == ']') { ++p; break; }
                fail("expected ',' or ']'");
            }
        } else if (c == '"') {
            j.type = Json::Type::String;
            j.str = string();
        } else if (t.compare(p, 4, "null") == 0) {
            p += 4;
        } else if (t.compare(p, 4, "true") == 0) {
            j.type = Json::Type::Bool;
            j.boolean = true;
            p += 4;
        } else if (t.compare(p, 5, "false") == 0) {
            j.type = Json::Type::Bool;
            p += 5;
        } else if (t.compare(p, 3, "NaN") == 0) {
            j.type = Json::Type::Number;
            j.num = std::numeric_limits<double>::quiet_NaN();
            p += 3;
        } else {
            char* end = nullptr;
            j.type = Json::Type::Number;
            j.num = std::strtod(t.c_str() + p, &end);
            if (end == t.c_str() + p)
                fail("bad value");
            p = static_cast<std::size_t>(end - t.c_str());
        }
        return j;
    }
};

}  // namespace

bool Json::has(const std::string& key) const
{
    for (const auto& [k, v] : obj)
        if (k == key)
            return true;
    return false;
}

const Json& Json::operator[](const std::string& key) const
{
    for (const auto& [k, v] : obj)
        if (k == key)
            return v;
    throw std::out_of_range("JSON key '" + key + "' not found");
}

double Json::number() const
{
    if (type == Type::Number)
        return num;
    if (type == Type::Bool)
        return boolean ? 1 : 0;
    if (type == Type::String && str == "+inf")
        return std::numeric_limits<double>::infinity();
    if (type == Type::String && str == "-inf")
        return -std::numeric_limits<double>::infinity();
    return std::numeric_limits<double>::quiet_NaN();
}

std::vector<double> Json::numbers() const
{
    std::vector<double> out;
    for (const auto& v : arr)
        out.push_back(v.number());
    return out;
}

Json Json::parse(const std::string& text)
{
    Parser p{text};
    return p.value();
}

Json Json::parseFile(const std::string& path)
{
    std::ifstream in(path);
    if (!in)
        throw std::runtime_error(path + ": cannot open");
    std::stringstream ss;
    ss << in.rdbuf();
    return parse(ss.str());
}

}  // namespace camsight::test
