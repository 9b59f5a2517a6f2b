#pragma once
// Std
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace camsight::cli {

/// A mistake in how the command was called (unknown option, missing value): exit code 2 and a pointer to help.
class UsageError : public std::invalid_argument {
public:
    using std::invalid_argument::invalid_argument;
};

/// One option a command accepts.
struct OptionSpec {
    std::string name;        ///< without the leading dashes
    bool takesValue = true;  ///< false: a flag
    std::string help;
    std::string valueName = "VALUE";
};

/// Parsed options of one command: --name VALUE, --name=VALUE or --flag; repeated options keep every value.
class Args {
public:
    /// Throws UsageError with a message naming the offending option.
    Args(const std::vector<std::string>& argv, const std::vector<OptionSpec>& specs);

    bool has(const std::string& name) const { return m_values.count(name) > 0; }
    std::string value(const std::string& name) const;                 ///< throws if missing
    std::string value(const std::string& name, const std::string& fallback) const;
    std::vector<std::string> values(const std::string& name) const;  ///< every occurrence, in order
    const std::vector<std::string>& positional() const { return m_positional; }

private:
    std::map<std::string, std::vector<std::string>> m_values;
    std::vector<std::string> m_positional;
};

/// Splits "1.5,2,3" into numbers; throws UsageError naming `what` on malformed input.
std::vector<double> parseNumberList(const std::string& text, const std::string& what);

}  // namespace camsight::cli
