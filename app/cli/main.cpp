// Local
#include "app/cli/Command.h"
#include "core/ml/Runtime.h"

// Std
#include <exception>
#include <iostream>
#include <string>
#include <vector>

using camsight::cli::Command;

namespace camsight::cli {

const std::vector<Command>& commands()
{
    static const std::vector<Command> all = {
        versionCommand(),
        metricsCommand(),
        camCommand(),
        samCommand(),
        clipCommand(),
        textSegmentCommand(),
#ifdef CAMSIGHT_FULL_BUILD
        dicomInfoCommand(),
        dicomExportCommand(),
#endif
    };
    return all;
}

}  // namespace camsight::cli

namespace {

void printHelp()
{
    std::cout << "camsight-cli " << CAMSIGHT_VERSION
              << ": CamSight's engine from the command line.\n\n"
                 "Usage: camsight-cli <command> [options]\n"
                 "       camsight-cli --version [--json]\n"
                 "       camsight-cli help <command>\n\nCommands:\n";
    for (const auto& c : camsight::cli::commands())
        std::cout << "  " << c.name << std::string(c.name.size() < 16 ? 16 - c.name.size() : 1, ' ') << c.summary << "\n";
}

void printCommandHelp(const Command& c)
{
    std::cout << "Usage: camsight-cli " << c.name << " " << c.usage << "\n\n" << c.summary << "\n";
    if (!c.options.empty())
        std::cout << "\nOptions:\n";
    for (const auto& o : c.options) {
        std::string lhs = "--" + o.name + (o.takesValue ? " " + o.valueName : "");
        std::cout << "  " << lhs << std::string(lhs.size() < 26 ? 26 - lhs.size() : 1, ' ') << o.help << "\n";
    }
}

const Command* find(const std::string& name)
{
    for (const auto& c : camsight::cli::commands())
        if (c.name == name)
            return &c;
    return nullptr;
}

}  // namespace

int main(int argc, char** argv)
{
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty() || args[0] == "--help" || args[0] == "-h") {
        printHelp();
        return args.empty() ? 2 : 0;
    }
    if (args[0] == "--version")
        args[0] = "version";
    if (args[0] == "help") {
        if (args.size() < 2) {
            printHelp();
            return 0;
        }
        if (const Command* c = find(args[1])) {
            printCommandHelp(*c);
            return 0;
        }
        std::cerr << "camsight-cli: unknown command '" << args[1] << "' (see camsight-cli --help)\n";
        return 2;
    }
    const Command* cmd = find(args[0]);
    if (!cmd) {
        std::cerr << "camsight-cli: unknown command '" << args[0] << "' (see camsight-cli --help)\n";
        return 2;
    }
    std::vector<std::string> rest(args.begin() + 1, args.end());
    for (const auto& a : rest)
        if (a == "--help" || a == "-h") {
            printCommandHelp(*cmd);
            return 0;
        }
    try {
        camsight::ml::initRuntime();
        const camsight::cli::Args parsed(rest, cmd->options);
        return cmd->run(parsed);
    } catch (const camsight::cli::UsageError& e) {
        std::cerr << "camsight-cli " << cmd->name << ": " << e.what() << " (see camsight-cli help " << cmd->name << ")\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "camsight-cli " << cmd->name << ": " << e.what() << "\n";
        return 1;
    }
}
