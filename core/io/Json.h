#pragma once
// Std
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace camsight::io {

/// A JSON document read from a user's file (model sidecars) or a golden manifest. Numbers are double; members keep
/// their order. Strict RFC 8259 syntax, nesting at most 256 deep; errors give the line and column.
struct Json {
    enum class Type { Null, Bool, Number, String, Array, Object } type = Type::Null;
    bool boolean = false;
    double num = 0;
    std::string str;
    std::vector<Json> arr;
    std::vector<std::pair<std::string, Json>> obj;

    bool has(const std::string& key) const;
    const Json* find(const std::string& key) const;        ///< nullptr when absent (or not an object)
    const Json& operator[](const std::string& key) const;  ///< throws std::out_of_range naming the key
    const Json& operator[](std::size_t i) const { return arr.at(i); }
    double number() const;  ///< NaN for null and for the string "NaN"; +-inf for "+inf"/"-inf"/"inf"
    std::vector<double> numbers() const;

    /// Throws std::runtime_error "JSON: <problem> at line L, column C".
    static Json parse(const std::string& text);
    /// Throws std::runtime_error naming the file.
    static Json parseFile(const std::string& path);
};

}  // namespace camsight::io
