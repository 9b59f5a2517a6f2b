#pragma once
// Runs camsight-cli (path CAMSIGHT_CLI, defined by the test target) as a user would: exit code and output.

// Std
#include <array>
#include <cstdio>
#include <string>
#include <sys/wait.h>

namespace camsight::test {

struct CliRun {
    int code = -1;
    std::string out;  // stdout and stderr together
};

inline CliRun cli(const std::string& args)
{
    CliRun r;
    const std::string cmd = std::string(CAMSIGHT_CLI) + " " + args + " 2>&1";
    FILE* p = popen(cmd.c_str(), "r");
    if (!p)
        return r;
    std::array<char, 4096> buf;
    std::size_t got;
    while ((got = fread(buf.data(), 1, buf.size(), p)) > 0)
        r.out.append(buf.data(), got);
    const int status = pclose(p);
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
}

}  // namespace camsight::test
