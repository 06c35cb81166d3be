// Running the qreport binary from tests as a user would: exit code, stdout, stderr.
#ifndef QREPORT_TESTS_CLI_CLI_SUPPORT_H_
#define QREPORT_TESTS_CLI_CLI_SUPPORT_H_

#include <cstddef>
#include <functional>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

namespace qreport::cli_testing {

struct CliRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Paths compiled in by CMake; environment variables of the same names override them.
std::string Setting(const char* name, const char* built_in);
std::string Fixture(const std::string& file);  // a model exported by export_models.py
std::string Python();                          // Debian's /usr/bin/python3
std::string ReadFile(const std::string& path);

// Runs `qreport ARGS` (a shell fragment) with COLUMNS=200. `prefix` goes before the binary:
// environment assignments, or a wrapper command such as `taskset -c 0`.
CliRun Qreport(const std::string& args, const std::string& prefix = "");

size_t Lines(const std::string& text);

// A getenv over a fixed environment, for the policies that read variables.
std::function<const char*(const char*)> Environment(std::map<std::string, std::string> vars);

// An empty directory named after `name` and this process under the test temp dir.
std::string ScratchDir(const std::string& name);

}  // namespace qreport::cli_testing

#endif  // QREPORT_TESTS_CLI_CLI_SUPPORT_H_
