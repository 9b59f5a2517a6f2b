#pragma once
// Local
#include "app/cli/Args.h"

// Std
#include <string>
#include <vector>

namespace camsight::cli {

/// One `camsight-cli <name>` subcommand. `run` returns the process exit code; errors are thrown as
/// exceptions whose message is printed to stderr as "camsight-cli <name>: <message>".
struct Command {
    std::string name;
    std::string summary;
    std::string usage;  ///< argument synopsis after the command name
    std::vector<OptionSpec> options;
    int (*run)(const Args& args) = nullptr;
};

/// Every subcommand compiled into this build, in the order `--help` lists them.
const std::vector<Command>& commands();

// Registration: each command's translation unit defines one of these.
Command versionCommand();
Command metricsCommand();
Command camCommand();
Command samCommand();
Command clipCommand();
Command textSegmentCommand();
#ifdef CAMSIGHT_FULL_BUILD
Command dicomInfoCommand();
Command dicomExportCommand();
#endif

}  // namespace camsight::cli
