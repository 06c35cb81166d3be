#include "torchscript/fixtures.h"

#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>

namespace qreport::testing {

std::string FixtureDir() {
  const char* dir = std::getenv("QREPORT_FIXTURES");
  return dir != nullptr && *dir != '\0' ? dir : QREPORT_FIXTURE_DIR;
}

std::string FixturePath(const std::string& file) { return FixtureDir() + "/" + file; }

nlohmann::json Expected(const std::string& name) {
  const std::string path = FixturePath(name + ".expected.json");
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path);
  return nlohmann::json::parse(in);
}

}  // namespace qreport::testing
