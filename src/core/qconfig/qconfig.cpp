#include "qreport/core/qconfig/qconfig.h"

#include <algorithm>
#include <regex>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "qreport/core/error.h"

namespace qreport {
namespace {

// Replaces the entry with the same key in place (PyTorch's OrderedDict keeps the first
// position of a key that is set again), or appends.
void Upsert(std::vector<std::pair<std::string, std::optional<QConfig>>>& entries, std::string key,
            std::optional<QConfig> config) {
  for (auto& [k, c] : entries) {
    if (k == key) {
      c = config;
      return;
    }
  }
  entries.emplace_back(std::move(key), config);
}

bool StartsWith(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

// The package of a Python class name, spelled one way whatever the user or the front-end
// wrote: "torch.nn.modules.linear" and "nn" -> "torch.nn"; "torch.ao.nn.qat.modules.linear"
// and "torch.nn.qat" -> "torch.nn.qat"; "__torch__.__main__" -> "".
std::string CanonicalPackage(std::string_view package) {
  std::string out(package);
  // TorchScript's spelling: "__torch__." in front, "___torch_mangle_N" segments inside.
  std::vector<std::string_view> kept;
  for (size_t begin = 0; begin <= out.size();) {
    const size_t end = std::min(out.find('.', begin), out.size());
    const std::string_view part = std::string_view(out).substr(begin, end - begin);
    if (!(kept.empty() && (part == "__torch__" || part == "__main__")) &&
        !StartsWith(part, "___torch_mangle_")) {
      kept.push_back(part);
    }
    begin = end + 1;
  }
  out = fmt::format("{}", fmt::join(kept, "."));
  // The aliases PyTorch's own documentation and tests import the packages as.
  static constexpr std::pair<std::string_view, std::string_view> kAliases[] = {
      {"nn", "torch.nn"},
      {"nnq", "torch.nn.quantized"},
      {"nnqd", "torch.nn.quantized.dynamic"},
      {"nnqat", "torch.nn.qat"},
      {"nni", "torch.nn.intrinsic"},
      {"nniqat", "torch.nn.intrinsic.qat"},
  };
  const std::string_view head = std::string_view(out).substr(0, out.find('.'));
  for (const auto& [alias, full] : kAliases) {
    if (head == alias) {
      out = std::string(full) + out.substr(head.size());
      break;
    }
  }
  if (!StartsWith(out, "torch.")) return out;
  // torch.ao.nn.qat and torch.nn.qat are the same classes (1.13 keeps the old names).
  if (StartsWith(out, "torch.ao.nn.") || out == "torch.ao.nn") out.erase(6, 3);
  // Python's public names hide the ".modules.<file>" part of the defining module.
  const auto modules = out.find(".modules");
  if (modules != std::string::npos && (modules + 8 == out.size() || out[modules + 8] == '.')) {
    out.erase(modules);
  }
  return out;
}

std::pair<std::string_view, std::string_view> SplitClassName(std::string_view name) {
  const auto dot = name.rfind('.');
  if (dot == std::string_view::npos) return {{}, name};
  return {name.substr(0, dot), name.substr(dot + 1)};
}

// Whether the user's spelling of a class names the module's class (PyTorch compares the
// class objects, i.e. exact type, no subclasses).
bool SameClass(std::string_view user_spelling, std::string_view module_type) {
  const auto [user_package, user_class] = SplitClassName(user_spelling);
  const auto [type_package, type_class] = SplitClassName(module_type);
  if (user_class != type_class) return false;
  if (user_package.empty()) return true;
  const std::string user = CanonicalPackage(user_package);
  const std::string type = CanonicalPackage(type_package);
  if (user == type) return true;
  // A user-defined class named relative to its top package: "blocks.Block" for
  // "models.blocks.Block". Never for torch's own packages, where "torch.nn" must not match
  // "torch.nn.qat".
  return !StartsWith(user, "torch.") && type.size() > user.size() &&
         type.compare(type.size() - user.size(), user.size(), user) == 0 &&
         type[type.size() - user.size() - 1] == '.';
}

// Length of the quantifier at pattern[i] ('*', '+', '?', "{2}", "{2,}", "{2,5}"), 0 if none.
size_t QuantifierAt(const std::string& pattern, size_t i) {
  const char c = pattern[i];
  if (c == '*' || c == '+' || c == '?') return 1;
  if (c != '{') return 0;
  size_t j = i + 1;
  const auto digits = [&] {
    const size_t from = j;
    while (j < pattern.size() && pattern[j] >= '0' && pattern[j] <= '9') ++j;
    return j > from;
  };
  if (!digits()) return 0;
  if (j < pattern.size() && pattern[j] == ',') {
    ++j;
    digits();
  }
  return j < pattern.size() && pattern[j] == '}' ? j + 1 - i : 0;
}

// ECMAScript rejects a quantifier that follows another ("a++", "a*{2}"); only one '?' may
// follow, for a lazy match. Python's re, which prepare_fx matches with, rejects them too before
// 3.11 and reads "a++" as possessive since. libstdc++ accepts them and nests the repetitions, so
// a short name could take exponential time to match, and would not match as PyTorch does.
void CheckNoStackedQuantifiers(const std::string& pattern) {
  bool after_quantifier = false, lazy = false;
  for (size_t i = 0; i < pattern.size();) {
    if (pattern[i] == '\\') {
      i += 2;
      after_quantifier = false;
      continue;
    }
    if (pattern[i] == '[') {  // a class: its quantifier characters are literal
      for (++i; i < pattern.size() && pattern[i] != ']'; ++i) {
        if (pattern[i] == '\\') ++i;
      }
      ++i;
      after_quantifier = false;
      continue;
    }
    if (const size_t length = QuantifierAt(pattern, i); length > 0) {
      if (after_quantifier && (pattern[i] != '?' || lazy)) {
        throw MakeError(ErrorKind::kInvalidArgument,
                        "invalid regular expression \"{}\": nothing to repeat at position {}",
                        pattern, i);
      }
      lazy = after_quantifier;
      after_quantifier = true;
      i += length;
      continue;
    }
    after_quantifier = false;
    ++i;
  }
}

std::regex CompileRegex(const std::string& pattern) {
  CheckNoStackedQuantifiers(pattern);
  try {
    return std::regex(pattern, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    throw MakeError(ErrorKind::kInvalidArgument, "invalid regular expression \"{}\": {}", pattern,
                    e.what());
  }
}

}  // namespace

const char* ToString(ActivationMode mode) {
  return mode == ActivationMode::kDynamic ? "dynamic" : "static";
}

const char* ToString(WeightScheme scheme) {
  return scheme == WeightScheme::kPerChannel ? "per_channel" : "per_tensor";
}

QConfigMapping& QConfigMapping::SetGlobal(std::optional<QConfig> config) {
  has_global_ = true;
  global_ = config;
  return *this;
}

QConfigMapping& QConfigMapping::SetObjectType(std::string type, std::optional<QConfig> config) {
  QREPORT_CHECK(!type.empty() && type.back() != '.',
                "expected a Python class name such as \"torch.nn.Linear\", got \"{}\"", type);
  Upsert(object_type_, std::move(type), config);
  return *this;
}

QConfigMapping& QConfigMapping::SetModuleNameRegex(std::string regex,
                                                   std::optional<QConfig> config) {
  CompileRegex(regex);
  Upsert(module_name_regex_, std::move(regex), config);
  return *this;
}

QConfigMapping& QConfigMapping::SetModuleName(std::string name, std::optional<QConfig> config) {
  Upsert(module_name_, std::move(name), config);
  return *this;
}

bool QConfigMapping::empty() const {
  return !has_global_ && object_type_.empty() && module_name_regex_.empty() && module_name_.empty();
}

// prepare_fx's maybe_adjust_qconfig_for_module_type_or_name, step by step.
std::optional<QConfig> QConfigMapping::Resolve(std::string_view fqn,
                                               std::string_view module_type) const {
  if (empty()) return DefaultQConfig();
  // get_module_name_qconfig: the module, then each ancestor; the root ("") never matches.
  for (std::string_view name = fqn; !name.empty();) {
    for (const auto& [key, config] : module_name_) {
      if (key == name) return config;
    }
    const auto dot = name.rfind('.');
    name = dot == std::string_view::npos ? std::string_view() : name.substr(0, dot);
  }
  // get_module_name_regex_qconfig: first pattern for which re.match succeeds, i.e. a match
  // anchored at the start of the name but not at its end.
  const std::string name(fqn);
  for (const auto& [pattern, config] : module_name_regex_) {
    if (std::regex_search(name, CompileRegex(pattern), std::regex_constants::match_continuous)) {
      return config;
    }
  }
  // get_object_type_qconfig: a dict keyed by class; a class set twice keeps the last value.
  for (auto it = object_type_.rbegin(); it != object_type_.rend(); ++it) {
    if (SameClass(it->first, module_type)) return it->second;
  }
  return has_global_ ? global_ : std::nullopt;
}

}  // namespace qreport
