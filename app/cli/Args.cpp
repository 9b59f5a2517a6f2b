#include "app/cli/Args.h"

// Std
#include <cstdlib>
#include <stdexcept>

namespace camsight::cli {

Args::Args(const std::vector<std::string>& argv, const std::vector<OptionSpec>& specs)
{
    for (std::size_t i = 0; i < argv.size(); ++i) {
        const std::string& a = argv[i];
        if (a.rfind("--", 0) != 0 || a == "--") {
            m_positional.push_back(a);
            continue;
        }
        std::string name = a.substr(2), value;
        bool inlineValue = false;
        if (auto eq = name.find('='); eq != std::string::npos) {
            value = name.substr(eq + 1);
            name = name.substr(0, eq);
            inlineValue = true;
        }
        const OptionSpec* spec = nullptr;
        for (const auto& s : specs)
            if (s.name == name)
                spec = &s;
        if (!spec)
            throw UsageError("unknown option --" + name);
        if (spec->takesValue && !inlineValue) {
            if (i + 1 >= argv.size())
                throw UsageError("option --" + name + " needs a value (" + spec->valueName + ")");
            value = argv[++i];
        } else if (!spec->takesValue && inlineValue) {
            throw UsageError("option --" + name + " takes no value");
        }
        m_values[name].push_back(value);
    }
}

std::string Args::value(const std::string& name) const
{
    auto it = m_values.find(name);
    if (it == m_values.end())
        throw UsageError("missing required option --" + name);
    return it->second.back();
}

std::string Args::value(const std::string& name, const std::string& fallback) const
{
    auto it = m_values.find(name);
    return it == m_values.end() ? fallback : it->second.back();
}

std::vector<std::string> Args::values(const std::string& name) const
{
    auto it = m_values.find(name);
    return it == m_values.end() ? std::vector<std::string>{} : it->second;
}

std::vector<double> parseNumberList(const std::string& text, const std::string& what)
{
    std::vector<double> out;
    std::size_t pos = 0;
    while (pos <= text.size()) {
        const auto comma = text.find(',', pos);
        const std::string item = text.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
        char* end = nullptr;
        const double v = std::strtod(item.c_str(), &end);
        if (item.empty() || end != item.c_str() + item.size())
            throw UsageError(what + ": '" + text + "' is not a comma-separated list of numbers");
        out.push_back(v);
        if (comma == std::string::npos)
            break;
        pos = comma + 1;
    }
    return out;
}

}  // namespace camsight::cli
