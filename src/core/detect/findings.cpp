#include "qreport/core/detect/findings.h"

#include <array>
#include <utility>

namespace qreport {
namespace {

constexpr std::array<std::pair<Backend, const char*>, 4> kBackendNames = {{
    {Backend::kFbgemm, "fbgemm"},
    {Backend::kQnnpack, "qnnpack"},
    {Backend::kOnednn, "onednn"},
    {Backend::kX86, "x86"},
}};

}  // namespace

const char* ToString(Backend backend) {
  for (const auto& [b, name] : kBackendNames) {
    if (b == backend) return name;
  }
  return "?";
}

std::optional<Backend> BackendFromString(std::string_view name) {
  for (const auto& [backend, n] : kBackendNames) {
    if (name == n) return backend;
  }
  return std::nullopt;
}

const std::string& FqnOf(const Finding& finding) {
  return std::visit([](const auto& f) -> const std::string& { return f.fqn; }, finding);
}

}  // namespace qreport
