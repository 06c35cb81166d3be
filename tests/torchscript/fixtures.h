// Access to the models tests/fixtures/export_models.py writes at test time, and to what
// Python says about them (NAME.expected.json).
#ifndef QREPORT_TESTS_TORCHSCRIPT_FIXTURES_H_
#define QREPORT_TESTS_TORCHSCRIPT_FIXTURES_H_

#include <string>

#include <nlohmann/json.hpp>

namespace qreport::testing {

// Where CTest's fixtures.export test writes the models ($QREPORT_FIXTURES overrides it).
std::string FixtureDir();

// FixtureDir() + "/" + file.
std::string FixturePath(const std::string& file);

// The parsed NAME.expected.json.
nlohmann::json Expected(const std::string& name);

}  // namespace qreport::testing

#endif  // QREPORT_TESTS_TORCHSCRIPT_FIXTURES_H_
