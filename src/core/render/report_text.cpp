// The text report: per detector a heading, a legend, a summary and one line per module with
// the decision and the numbers behind it. Presents findings; computes no statistics.
#include <algorithm>
#include <cmath>
#include <string>
#include <type_traits>
#include <vector>

#include <fmt/format.h>

#include "qreport/core/detect/report.h"

namespace qreport {
namespace {

constexpr size_t kMaxNameWidth = 36;  // longer names get a line of their own
constexpr size_t kLineWidth = 96;     // wrapped lists stay below 100 columns
constexpr size_t kMaxListed = 8;      // channels listed per line before "and K more"

// Up to three significant digits, fixed-point for everyday magnitudes ("0.31", "473",
// "4000"), scientific beyond ("3.28e+08").
std::string Num(double v) {
  if (!std::isfinite(v)) return std::isnan(v) ? "nan" : (v > 0 ? "inf" : "-inf");
  if (v == 0) return "0";
  const double magnitude = std::fabs(v);
  if (magnitude < 1e-3 || magnitude >= 1e6) return fmt::format("{:.3g}", v);
  const int decimals = std::max(0, 2 - static_cast<int>(std::floor(std::log10(magnitude))));
  std::string out = fmt::format("{:.{}f}", v, decimals);
  if (out.find('.') != std::string::npos) {
    out.erase(out.find_last_not_of('0') + 1);
    if (out.back() == '.') out.pop_back();
  }
  return out;
}

std::string Plural(size_t n, const char* one, const char* many) {
  return fmt::format("{} {}", n, n == 1 ? one : many);
}

// "0, 2, 5 and 12 more": the first kMaxListed entries.
std::string ListSome(const std::vector<std::string>& items) {
  std::string out;
  for (size_t i = 0; i < items.size() && i < kMaxListed; ++i) {
    if (i > 0) out += ", ";
    out += items[i];
  }
  if (items.size() > kMaxListed) out += fmt::format(" and {} more", items.size() - kMaxListed);
  return out;
}

std::string ShortClass(const std::string& python_class) {
  const auto dot = python_class.rfind('.');
  return dot == std::string::npos ? python_class : python_class.substr(dot + 1);
}

// Module lines of one section, with names in an aligned column.
class Section {
 public:
  explicit Section(const std::vector<std::string>& names) {
    for (const std::string& name : names) width_ = std::max(width_, Label(name).size());
    width_ = std::min(width_, kMaxNameWidth);
  }

  // The module's first line; `notes` go below it, aligned with `detail`.
  void Add(const std::string& fqn, const std::string& detail,
           const std::vector<std::string>& notes = {}) {
    const std::string label = Label(fqn);
    if (label.size() > width_) {
      text_ += fmt::format("  {}\n{:{}}{}\n", label, "", width_ + 4, detail);
    } else {
      text_ += fmt::format("  {:{}}  {}\n", label, width_, detail);
    }
    for (const std::string& note : notes) text_ += fmt::format("{:{}}{}\n", "", width_ + 4, note);
  }

  const std::string& text() const { return text_; }

 private:
  static std::string Label(const std::string& fqn) { return fqn.empty() ? "<root>" : fqn; }

  size_t width_ = 0;
  std::string text_;
};

template <typename T>
std::vector<std::string> Names(const std::vector<const T*>& findings) {
  std::vector<std::string> names;
  for (const T* f : findings) names.push_back(f->fqn);
  return names;
}

std::string RenderPerChannel(const std::string& detector,
                             const std::vector<const PerChannelFinding*>& findings) {
  const char* backend = findings.empty() ? "?" : ToString(findings.front()->backend);
  size_t can_switch = 0, already = 0, unsupported = 0, in_float = 0;
  Section section(Names(findings));
  for (const PerChannelFinding* f : findings) {
    const std::string source = f->configuration_source.empty()
                                   ? std::string()
                                   : fmt::format(" (from {})", f->configuration_source);
    if (!f->quantized) {
      ++in_float;
      section.Add(f->fqn, fmt::format("left in float{}; per-channel weights {}supported", source,
                                      f->per_channel_supported ? "" : "not "));
    } else if (f->per_channel_used) {
      ++already;
      section.Add(f->fqn, "per-channel weights already" + source);
    } else if (f->per_channel_supported) {
      ++can_switch;
      section.Add(f->fqn, "switch to per-channel weights: per-tensor now" + source);
    } else {
      ++unsupported;
      section.Add(f->fqn, fmt::format("per-tensor; {} has no per-channel kernel for it", backend));
    }
  }
  std::string out = fmt::format("== Per-channel weights: {}, backend {} ==\n", detector, backend);
  out += fmt::format("  {}: {} can switch to per-channel weights, {} already per-channel",
                     Plural(findings.size(), "layer", "layers"), can_switch, already);
  if (unsupported > 0) out += fmt::format(", {} not supported on {}", unsupported, backend);
  if (in_float > 0) out += fmt::format(", {} left in float", in_float);
  return out + ".\n" + section.text();
}

std::string RenderDynamicStatic(const std::string& detector,
                                const std::vector<const DynamicStaticFinding*>& findings) {
  const double tolerance = findings.empty() ? 0.5 : findings.front()->tolerance;
  size_t dynamic = 0, unsupported = 0, static_count = 0, problems = 0;
  Section section(Names(findings));
  for (const DynamicStaticFinding* f : findings) {
    std::vector<std::string> notes;
    if (f->input_nonfinite > 0 || f->output_nonfinite > 0) {
      notes.push_back(fmt::format("left out NaN/Inf values: {} in the input, {} in the output",
                                  f->input_nonfinite, f->output_nonfinite));
    }
    if (f->problem) {
      ++problems;
      section.Add(f->fqn, "not judged: " + f->problem->message, notes);
      continue;
    }
    const std::string numbers =
        fmt::format("output ratio {} {} {} (input {})", Num(*f->output_ratio),
                    f->dynamic_recommended ? "<=" : ">", Num(tolerance), Num(*f->input_ratio));
    if (f->dynamic_recommended && f->dynamic_supported) {
      ++dynamic;
      section.Add(f->fqn, "dynamic: " + numbers, notes);
    } else if (f->dynamic_recommended) {
      ++unsupported;
      section.Add(f->fqn, "dynamic (unsupported, Linear only): " + numbers, notes);
    } else {
      ++static_count;
      if (!f->input_stationary) {
        notes.push_back("input non-stationary: a dynamic quantize before the layer may help");
      }
      section.Add(f->fqn, "static: " + numbers, notes);
    }
  }
  std::string out = fmt::format("== Dynamic vs static activations: {}, tolerance {} ==\n", detector,
                                Num(tolerance));
  out += fmt::format(
      "  ratio = average batch range / range over all batches; > {}: stationary, static fits\n",
      Num(tolerance));
  out += fmt::format("  {}: {} dynamic", Plural(findings.size(), "layer", "layers"), dynamic);
  if (unsupported > 0) out += fmt::format(", {} dynamic but unsupported", unsupported);
  out += fmt::format(", {} static", static_count);
  if (problems > 0) out += fmt::format(", {} not judged", problems);
  return out + ".\n" + section.text();
}

std::string RenderEqualization(const std::string& detector,
                               const std::vector<const EqualizationFinding*>& findings) {
  const double t = findings.empty() ? 0.5 : findings.front()->threshold;
  size_t equalize = 0, problems = 0;
  Section section(Names(findings));
  for (const EqualizationFinding* f : findings) {
    if (f->problem) {
      ++problems;
      section.Add(f->fqn, "not judged: " + f->problem->message);
      continue;
    }
    const size_t n = f->channel_recommended.size();
    const auto k = static_cast<size_t>(
        std::count(f->channel_recommended.begin(), f->channel_recommended.end(), true));
    double lo = INFINITY, hi = -INFINITY;
    for (double s : f->comparison) {
      if (std::isfinite(s)) lo = std::min(lo, s), hi = std::max(hi, s);
    }
    const std::string spread =
        lo <= hi ? fmt::format("s_c {} to {}", Num(lo), Num(hi)) : std::string("no finite s_c");
    equalize += f->recommended ? 1 : 0;
    section.Add(f->fqn, fmt::format("{}: {} of {} channels benefit ({:.0f}%), {}, input axis {}",
                                    f->recommended ? "equalize" : "do not equalize", k, n,
                                    n == 0 ? 0.0 : 100.0 * static_cast<double>(k) / n, spread,
                                    f->channel_axis));
  }
  std::string out =
      fmt::format("== Input-weight equalization: {}, threshold {} ==\n", detector, Num(t));
  out += "  s_c = sqrt(weight range_c / weight range) / sqrt(input range_c / input range)\n";
  out += fmt::format("  a channel benefits if {} <= s_c <= {}; equalize if >= 40% benefit\n",
                     Num(t), Num(1.0 / t));
  out += fmt::format("  {}: {} would benefit from equalization",
                     Plural(findings.size(), "layer", "layers"), equalize);
  if (problems > 0) out += fmt::format(", {} not judged", problems);
  return out + ".\n" + section.text();
}

// A channel's ratio as a person should read it: a number, or what a saturated average means
// ("unbounded: percentile 0 in 3 of 8 batches") rather than the 4.25e+37 it holds.
std::string RatioText(const OutlierFinding& f, size_t c) {
  const int64_t unbounded = c < f.unbounded_batches.size() ? f.unbounded_batches[c] : 0;
  if (unbounded == 0) return Num(f.ratios[c]);
  return fmt::format("unbounded: percentile 0 in {} of {} batches", unbounded, f.total_batches);
}

std::string RenderOutliers(const std::string& detector,
                           const std::vector<const OutlierFinding*>& findings) {
  const OutlierFinding* first = findings.empty() ? nullptr : findings.front();
  const double threshold = first ? first->ratio_threshold : 3.5;
  const double percentile = first ? first->reference_percentile : 0.975;
  size_t with_outliers = 0, with_dead = 0, problems = 0, quiet = 0;
  std::vector<const OutlierFinding*> listed;
  for (const OutlierFinding* f : findings) {
    const bool outliers = std::count(f->outliers.begin(), f->outliers.end(), true) > 0;
    const bool dead = std::count(f->dead_channels.begin(), f->dead_channels.end(), true) > 0;
    const bool constant = std::any_of(f->constant_batches.begin(), f->constant_batches.end(),
                                      [](int64_t n) { return n > 0; });
    with_outliers += outliers ? 1 : 0;
    with_dead += dead ? 1 : 0;
    problems += f->problem ? 1 : 0;
    if (outliers || dead || constant || f->problem) {
      listed.push_back(f);
    } else {
      ++quiet;
    }
  }
  std::vector<std::string> labels;
  for (const OutlierFinding* f : listed) {
    labels.push_back(f->module_type.empty()
                         ? f->fqn
                         : fmt::format("{} ({})", f->fqn.empty() ? "<root>" : f->fqn,
                                       ShortClass(f->module_type)));
  }
  Section section(labels);
  for (size_t i = 0; i < listed.size(); ++i) {
    const OutlierFinding* f = listed[i];
    const std::string& fqn = labels[i];
    if (f->problem) {
      section.Add(fqn, "not judged: " + f->problem->message);
      continue;
    }
    std::vector<std::string> outliers, dead, constant, few;
    size_t worst = f->outliers.size();
    int64_t most_constant = 0;
    for (size_t c = 0; c < f->outliers.size(); ++c) {
      if (f->outliers[c]) {
        outliers.push_back(std::to_string(c));
        if (worst == f->outliers.size() || f->ratios[c] > f->ratios[worst]) worst = c;
        if (!f->sufficient_batches[c]) {
          few.push_back(fmt::format("{} ({}/{})", c, f->batches_used[c], f->total_batches));
        }
      }
      if (f->dead_channels[c]) {
        dead.push_back(std::to_string(c));
      } else if (f->constant_batches[c] > 0) {
        constant.push_back(std::to_string(c));
        most_constant = std::max(most_constant, f->constant_batches[c]);
      }
    }
    std::vector<std::string> lines;
    if (!outliers.empty()) {
      lines.push_back(fmt::format("outliers in {} of {} channels (axis {}): {}", outliers.size(),
                                  f->outliers.size(), f->channel_axis, ListSome(outliers)));
      lines.push_back(fmt::format("largest: channel {}, ratio {}, max {}", worst,
                                  RatioText(*f, worst), Num(f->channel_max[worst])));
    }
    if (!few.empty()) lines.push_back("ratio from too few batches: " + ListSome(few));
    std::vector<std::string> unbounded;
    for (size_t c = 0; c < f->unbounded_batches.size(); ++c) {
      if (f->unbounded_batches[c] > 0 && f->outliers[c]) unbounded.push_back(std::to_string(c));
    }
    if (!unbounded.empty()) {
      lines.push_back(fmt::format("unbounded ratio (the {} percentile was 0 in some batch): {}",
                                  Num(f->reference_percentile), ListSome(unbounded)));
    }
    if (!dead.empty()) {
      lines.push_back(fmt::format("dead channels (zero in every batch, axis {}): {}",
                                  f->channel_axis, ListSome(dead)));
    }
    if (!constant.empty()) {
      lines.push_back(fmt::format("constant in some batches: {} (up to {} of {} batches)",
                                  ListSome(constant), most_constant, f->total_batches));
    }
    const std::string head = lines.front();
    lines.erase(lines.begin());
    section.Add(fqn, head, lines);
  }
  std::string out =
      fmt::format("== Outliers in module inputs: {}, ratio threshold {}, percentile {} ==\n",
                  detector, Num(threshold), Num(percentile));
  out += fmt::format(
      "  ratio = channel max / its {} percentile, averaged over batches; outlier if > {}\n",
      Num(percentile), Num(threshold));
  out += fmt::format("  {}: {} with outlier channels", Plural(findings.size(), "module", "modules"),
                     with_outliers);
  if (with_dead > 0) out += fmt::format(", {} with dead channels", with_dead);
  if (problems > 0) out += fmt::format(", {} not judged", problems);
  if (quiet > 0) out += fmt::format("; {} without findings not listed", quiet);
  out += ".\n" + section.text();
  if (with_outliers > 0) {
    out += "  Outlier ratios mean most for stationary inputs (see dynamic_vs_static_detector).\n";
  }
  return out;
}

// What the detector left out on purpose, so that a module missing from the list above is
// never missing without a word: the first kMaxListed, wrapped to the terminal's width.
std::string RenderNotObserved(const std::vector<NotObserved>& modules) {
  if (modules.empty()) return "";
  std::vector<std::string> items;
  for (size_t i = 0; i < modules.size() && i < kMaxListed; ++i) {
    const NotObserved& m = modules[i];
    items.push_back(m.module_type.empty()
                        ? fmt::format("{} ({})", m.fqn, m.reason)
                        : fmt::format("{} ({}, {})", m.fqn, ShortClass(m.module_type), m.reason));
  }
  if (modules.size() > kMaxListed) {
    items.push_back(fmt::format("and {} more", modules.size() - kMaxListed));
  }
  std::string out = fmt::format("  Not observed: {} whose input fusion removes\n",
                                Plural(modules.size(), "module", "modules"));
  std::string line = "   ";
  for (size_t i = 0; i < items.size(); ++i) {
    const std::string item = items[i] + (i + 1 < items.size() ? "," : "");
    if (line.size() > 3 && line.size() + 1 + item.size() > kLineWidth) {
      out += line + "\n";
      line = "   ";
    }
    line += " " + item;
  }
  return out + line + "\n";
}

// "Not analysed: ...": weight-bearing modules no detector saw, each with its reason below it.
std::string RenderUnanalysed(const std::vector<UnanalysedWeight>& weights) {
  if (weights.empty()) return "";
  std::string out = fmt::format("Not analysed: {} of Linear/Conv modules\n",
                                Plural(weights.size(), "weight", "weights"));
  for (const UnanalysedWeight& w : weights) {
    out += fmt::format("  {} ({})\n    {}\n", w.weight_path, ShortClass(w.module_type), w.reason);
  }
  return out;
}

static_assert(std::is_same_v<std::variant_alternative_t<0, Finding>, PerChannelFinding> &&
              std::is_same_v<std::variant_alternative_t<1, Finding>, DynamicStaticFinding> &&
              std::is_same_v<std::variant_alternative_t<2, Finding>, EqualizationFinding> &&
              std::is_same_v<std::variant_alternative_t<3, Finding>, OutlierFinding>);

// Findings of each kind in this detector's report, rendered in the order of kinds first met.
std::string RenderDetector(const DetectorReport& report) {
  std::vector<const PerChannelFinding*> per_channel;
  std::vector<const DynamicStaticFinding*> dynamic_static;
  std::vector<const EqualizationFinding*> equalization;
  std::vector<const OutlierFinding*> outliers;
  std::vector<size_t> order;
  for (const Finding& finding : report.findings) {
    if (std::find(order.begin(), order.end(), finding.index()) == order.end()) {
      order.push_back(finding.index());
    }
    std::visit(
        [&](const auto& f) {
          using T = std::decay_t<decltype(f)>;
          if constexpr (std::is_same_v<T, PerChannelFinding>) per_channel.push_back(&f);
          if constexpr (std::is_same_v<T, DynamicStaticFinding>) dynamic_static.push_back(&f);
          if constexpr (std::is_same_v<T, EqualizationFinding>) equalization.push_back(&f);
          if constexpr (std::is_same_v<T, OutlierFinding>) outliers.push_back(&f);
        },
        finding);
  }
  if (order.empty()) {
    return fmt::format("== {} ==\n  no modules to analyse.\n", report.detector) +
           RenderNotObserved(report.not_observed);
  }
  std::string out;
  for (size_t index : order) {
    if (!out.empty()) out += "\n";
    switch (index) {
      case 0:
        out += RenderPerChannel(report.detector, per_channel);
        break;
      case 1:
        out += RenderDynamicStatic(report.detector, dynamic_static);
        break;
      case 2:
        out += RenderEqualization(report.detector, equalization);
        break;
      default:
        out += RenderOutliers(report.detector, outliers);
        break;
    }
  }
  return out + RenderNotObserved(report.not_observed);
}

}  // namespace

std::string RenderReportText(const Report& report) {
  std::string out =
      fmt::format("qreport: {}, {}", report.model_path.empty() ? "<model>" : report.model_path,
                  Plural(static_cast<size_t>(std::max<int64_t>(report.batches, 0)),
                         "calibration batch", "calibration batches"));
  if (report.threads > 0) {
    out += " on " + Plural(static_cast<size_t>(report.threads), "thread", "threads");
  }
  out += "\n" + RenderUnanalysed(report.unanalysed);
  if (report.detectors.empty()) return out + "No detectors ran.\n";
  for (const DetectorReport& detector : report.detectors) out += "\n" + RenderDetector(detector);
  return out;
}

}  // namespace qreport
