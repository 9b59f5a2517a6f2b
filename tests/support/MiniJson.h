#pragma once
// Std
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace camsight::test {

/// A JSON value for reading golden manifests in tests. Numbers are double; null reads as NaN through number().
struct Json {
    enum class Type { Null, Bool, Number, String, Array, Object } type = Type::Null;
    bool boolean = false;
    double num = 0;
    std::string str;
    std::vector<Json> arr;
    std::vector<std::pair<std::string, Json>> obj;

    bool has(const std::string& key) const;
    const Json& operator[](const std::string& key) const;  ///< throws std::out_of_range naming the key
    const Json& operator[](std::size_t i) const { return arr.at(i); }
    double number() const;  ///< NaN for null and for the strings "NaN"; +-inf for "+inf"/"-inf"
    std::vector<double> numbers() const;

    static Json parse(const std::string& text);
    static Json parseFile(const std::string& path);
};

}  // namespace camsight::test
