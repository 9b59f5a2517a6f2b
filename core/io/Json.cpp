#include "core/io/Json.h"

// Std
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>

namespace camsight::io {
namespace {

class Parser {
public:
    explicit Parser(const std::string& text) : m_t(text) {}

    Json document()
    {
        Json j = value(0);
        ws();
        if (m_p != m_t.size())
            fail("unexpected text after the value");
        return j;
    }

private:
    const std::string& m_t;
    std::size_t m_p = 0;

    [[noreturn]] void fail(const std::string& what) const
    {
        std::size_t line = 1, col = 1;
        for (std::size_t i = 0; i < m_p && i < m_t.size(); ++i) {
            if (m_t[i] == '\n') {
                ++line;
                col = 1;
            } else {
                ++col;
            }
        }
        throw std::runtime_error("JSON: " + what + " at line " + std::to_string(line) + ", column " + std::to_string(col));
    }
    bool more() const { return m_p < m_t.size(); }
    char peek() const { return more() ? m_t[m_p] : '\0'; }
    void ws()
    {
        while (more() && (m_t[m_p] == ' ' || m_t[m_p] == '\n' || m_t[m_p] == '\r' || m_t[m_p] == '\t'))
            ++m_p;
    }
    void expect(char c)
    {
        if (peek() != c)
            fail(std::string("expected '") + c + "'");
        ++m_p;
    }
    bool literal(const char* word)
    {
        const std::string w(word);
        if (m_t.compare(m_p, w.size(), w) != 0)
            return false;
        m_p += w.size();
        return true;
    }
    unsigned hex4()
    {
        if (m_p + 4 > m_t.size())
            fail("truncated \\u escape");
        unsigned v = 0;
        for (int i = 0; i < 4; ++i) {
            const char c = m_t[m_p++];
            v <<= 4;
            if (c >= '0' && c <= '9') v |= unsigned(c - '0');
            else if (c >= 'a' && c <= 'f') v |= unsigned(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F') v |= unsigned(c - 'A' + 10);
            else fail("bad \\u escape");
        }
        return v;
    }
    static void utf8(std::string& out, unsigned cp)
    {
        if (cp < 0x80) {
            out += char(cp);
        } else if (cp < 0x800) {
            out += char(0xC0 | (cp >> 6));
            out += char(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            out += char(0xE0 | (cp >> 12));
            out += char(0x80 | ((cp >> 6) & 0x3F));
            out += char(0x80 | (cp & 0x3F));
        } else {
            out += char(0xF0 | (cp >> 18));
            out += char(0x80 | ((cp >> 12) & 0x3F));
            out += char(0x80 | ((cp >> 6) & 0x3F));
            out += char(0x80 | (cp & 0x3F));
        }
    }
    std::string string()
    {
        expect('"');
        std::string out;
        for (;;) {
            if (!more())
                fail("unterminated string");
            const char c = m_t[m_p++];
            if (c == '"')
                return out;
            if (static_cast<unsigned char>(c) < 0x20)
                fail("control character in string");
            if (c != '\\') {
                out += c;
                continue;
            }
            if (!more())
                fail("unterminated string");
            const char e = m_t[m_p++];
            switch (e) {
            case '"': out += '"'; break;
            case '\\': out += '\\'; break;
            case '/': out += '/'; break;
            case 'b': out += '\b'; break;
            case 'f': out += '\f'; break;
            case 'n': out += '\n'; break;
            case 'r': out += '\r'; break;
            case 't': out += '\t'; break;
            case 'u': {
                unsigned cp = hex4();
                if (cp >= 0xD800 && cp < 0xDC00 && literal("\\u")) {
                    const unsigned lo = hex4();
                    if (lo < 0xDC00 || lo >= 0xE000)
                        fail("bad surrogate pair");
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                }
                utf8(out, cp);
                break;
            }
            default:
                fail("bad escape");
            }
        }
    }
    double number()
    {
        const std::size_t start = m_p;
        if (peek() == '-')
            ++m_p;
        if (!std::isdigit(static_cast<unsigned char>(peek())))
            fail("expected a value");
        while (std::isdigit(static_cast<unsigned char>(peek())) || peek() == '.' || peek() == 'e' || peek() == 'E' ||
               peek() == '+' || peek() == '-')
            ++m_p;
        const std::string s = m_t.substr(start, m_p - start);
        char* end = nullptr;
        const double v = std::strtod(s.c_str(), &end);
        if (end != s.c_str() + s.size()) {
            m_p = start;
            fail("malformed number");
        }
        return v;
    }
    Json value(int depth)
    {
        if (depth > 256)
            fail("nesting deeper than 256");
        ws();
        Json j;
        if (!more())
            fail("unexpected end");
        const char c = peek();
        if (c == '{') {
            j.type = Json::Type::Object;
            ++m_p;
            ws();
            if (peek() == '}') {
                ++m_p;
                return j;
            }
            for (;;) {
                ws();
                std::string k = string();
                ws();
                expect(':');
                j.obj.emplace_back(std::move(k), value(depth + 1));
                ws();
                if (peek() == ',') {
                    ++m_p;
                    continue;
                }
                expect('}');
                return j;
            }
        }
        if (c == '[') {
            j.type = Json::Type::Array;
            ++m_p;
            ws();
            if (peek() == ']') {
                ++m_p;
                return j;
            }
            for (;;) {
                j.arr.push_back(value(depth + 1));
                ws();
                if (peek() == ',') {
                    ++m_p;
                    continue;
                }
                expect(']');
                return j;
            }
        }
        if (c == '"') {
            j.type = Json::Type::String;
            j.str = string();
            return j;
        }
        if (literal("true")) {
            j.type = Json::Type::Bool;
            j.boolean = true;
            return j;
        }
        if (literal("false")) {
            j.type = Json::Type::Bool;
            return j;
        }
        if (literal("null"))
            return j;
        // Python's json module writes these non-standard tokens; golden manifests contain them.
        if (literal("NaN")) {
            j.type = Json::Type::Number;
            j.num = std::numeric_limits<double>::quiet_NaN();
            return j;
        }
        const bool negInf = literal("-Infinity");
        if (negInf || literal("Infinity")) {
            j.type = Json::Type::Number;
            j.num = negInf ? -HUGE_VAL : HUGE_VAL;
            return j;
        }
        j.type = Json::Type::Number;
        j.num = number();
        return j;
    }
};

}  // namespace

const Json* Json::find(const std::string& key) const
{
    for (const auto& [k, v] : obj)
        if (k == key)
            return &v;
    return nullptr;
}

bool Json::has(const std::string& key) const { return find(key) != nullptr; }

const Json& Json::operator[](const std::string& key) const
{
    if (const Json* v = find(key))
        return *v;
    throw std::out_of_range("JSON: no key '" + key + "'");
}

double Json::number() const
{
    if (type == Type::Number)
        return num;
    if (type == Type::String) {
        if (str == "+inf" || str == "inf" || str == "Infinity")
            return HUGE_VAL;
        if (str == "-inf" || str == "-Infinity")
            return -HUGE_VAL;
    }
    return std::numeric_limits<double>::quiet_NaN();
}

std::vector<double> Json::numbers() const
{
    std::vector<double> out;
    for (const auto& v : arr)
        out.push_back(v.number());
    return out;
}

Json Json::parse(const std::string& text) { return Parser(text).document(); }

Json Json::parseFile(const std::string& path)
{
    std::ifstream f(path, std::ios::binary);
    if (!f)
        throw std::runtime_error(path + ": cannot open");
    std::stringstream ss;
    ss << f.rdbuf();
    try {
        return parse(ss.str());
    } catch (const std::runtime_error& e) {
        throw std::runtime_error(path + ": " + e.what());
    }
}

}  // namespace camsight::io
