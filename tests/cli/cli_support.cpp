#include "cli/cli_support.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

namespace qreport::cli_testing {

// Paths compiled in by CMake; environment variables of the same names override them.
std::string Setting(const char* name, const char* built_in) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : built_in;
}

std::string Fixture(const std::string& file) {
  return Setting("QREPORT_FIXTURES", QREPORT_FIXTURE_DIR) + "/" + file;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// Runs `qreport ARGS` with stdout captured through a pipe and stderr through a file.
CliRun Qreport(const std::string& args, const std::string& prefix) {
  const std::string err_path =
      ::testing::TempDir() + "qreport_cli_stderr_" + std::to_string(::getpid()) + ".txt";
  const std::string command = "COLUMNS=200 " + prefix + " '" +
                              Setting("QREPORT_BIN", QREPORT_BIN_PATH) + "' " + args + " 2>'" +
                              err_path + "'";
  CliRun run;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) throw std::runtime_error("popen failed");
  std::array<char, 4096> buffer{};
  size_t n = 0;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0)
    run.out.append(buffer.data(), n);
  const int status = ::pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  run.err = ReadFile(err_path);
  std::remove(err_path.c_str());
  return run;
}

std::function<const char*(const char*)> Environment(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const char* name) -> const char* {
    const auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  };
}

size_t Lines(const std::string& text) {
  return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
}

std::string Python() { return Setting("QREPORT_PYTHON", QREPORT_PYTHON_PATH); }

std::string ScratchDir(const std::string& name) {
  // One directory per process: ctest runs tests in parallel, each in its own process.
  const std::string dir =
      ::testing::TempDir() + "qreport_cli_" + name + "_" + std::to_string(::getpid());
  std::system(("rm -rf '" + dir + "' && mkdir -p '" + dir + "'").c_str());
  return dir;
}

}  // namespace qreport::cli_testing
