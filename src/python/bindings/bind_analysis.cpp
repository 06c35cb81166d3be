// Detectors over a model described from Python, the bank of observers that calibration feeds,
// and the report with its documents (text, report.json, mappings, report.html, CSV).
//
//   analysis = _core.Analysis(description, ["outlier"], backend="x86")
//   bank = _core.Bank(analysis, fingerprint, "resnet18")
//   bank.observe([slot], tensor)      # the GIL is released while the observers work
//   bank.add_batches(1)
//   analysis.set_weights([w.detach().float() for w in weights])
//   report = analysis.run(bank)
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include <omp.h>

#include <algorithm>
#include <limits>

#include "array_view.h"
#include "bindings.h"
#include "qreport/core/detect/analysis.h"
#include "qreport/core/error.h"
#include "qreport/core/render/html_report.h"
#include "qreport/core/render/visualizer.h"

namespace qreport::python {
namespace {

namespace nb = nanobind;

// The core's Analysis and the Python objects that own the memory of the weights it views.
struct PyAnalysis {
  Analysis analysis;
  std::vector<nb::object> weight_owners;
};

// A report with what its documents need besides the findings.
struct PyReport {
  Report report;
  ModelDescription model;  // layers and names; the weights are not read after the report
  QConfigMapping current;
};

DetectorOptions MakeOptions(const std::string& backend, double tolerance, double eq_threshold,
                            std::optional<int> eq_axis, double outlier_threshold,
                            double outlier_percentile, double outlier_fraction,
                            std::optional<int> outlier_axis) {
  DetectorOptions options;
  const auto parsed = BackendFromString(backend);
  QREPORT_CHECK(parsed.has_value(), "unknown backend '{}'; expected fbgemm, qnnpack, onednn or x86",
                backend);
  options.per_channel.backend = *parsed;
  options.dynamic_static.tolerance = tolerance;
  options.equalization.ratio_threshold = eq_threshold;
  options.equalization.channel_axis = eq_axis;
  options.outlier.ratio_threshold = outlier_threshold;
  options.outlier.reference_percentile = outlier_percentile;
  options.outlier.fraction_batches_used_threshold = outlier_fraction;
  options.outlier.channel_axis = outlier_axis;
  return options;
}

const char* PositionName(ObservationPosition position) {
  return position == ObservationPosition::kPre ? "pre" : "post";
}

}  // namespace

void BindAnalysis(nb::module_& m) {
  m.def(
      "set_num_threads",
      [](int threads) {
        QREPORT_CHECK(threads >= 1, "a thread count is at least 1, not {}", threads);
        omp_set_num_threads(threads);
      },
      nb::arg("threads"),
      "How many threads the observers of the calling thread use. The front-end passes "
      "torch.get_num_threads(), so the observers use what torch was told to, even where torch "
      "carries an OpenMP runtime of its own (its wheels do).");
  m.def("get_num_threads", [] { return omp_get_max_threads(); });

  m.def(
      "view_of",
      [](const CpuArray& array) {
        const TensorView view = ViewOf(array, "the tensor");
        return std::make_tuple(reinterpret_cast<uintptr_t>(view.data()), view.sizes(),
                               view.strides(), std::string(ToString(view.dtype())));
      },
      nb::arg("tensor"),
      "(data address, sizes, strides, dtype) of the view the observers read for `tensor`: "
      "its own memory, never a copy.");

  nb::class_<PyAnalysis>(m, "Analysis")
      .def(
          "__init__",
          [](PyAnalysis* self, ModelDescription model, const std::vector<std::string>& detectors,
             const std::string& backend, double tolerance, double eq_threshold,
             std::optional<int> eq_axis, double outlier_threshold, double outlier_percentile,
             double outlier_fraction, std::optional<int> outlier_axis,
             std::optional<std::string> current_json) {
            const DetectorOptions options =
                MakeOptions(backend, tolerance, eq_threshold, eq_axis, outlier_threshold,
                            outlier_percentile, outlier_fraction, outlier_axis);
            QConfigMapping current;
            if (current_json) {
              nlohmann::json parsed = nlohmann::json::parse(*current_json, nullptr, false);
              QREPORT_CHECK(!parsed.is_discarded(), "the current qconfig is not valid JSON");
              current = QConfigMapping::FromJson(parsed);
            }
            new (self) PyAnalysis{
                Analysis(std::move(model), MakeBuiltInDetectors(detectors, options), current), {}};
          },
          nb::arg("model"), nb::arg("detectors"), nb::arg("backend") = "x86",
          nb::arg("dynamic_static_tolerance") = 0.5, nb::arg("equalization_threshold") = 0.5,
          nb::arg("equalization_axis") = nb::none(), nb::arg("outlier_ratio_threshold") = 3.5,
          nb::arg("outlier_percentile") = 0.975, nb::arg("outlier_fraction_batches") = 0.95,
          nb::arg("outlier_axis") = nb::none(), nb::arg("current_qconfig_json") = nb::none())
      .def_prop_ro("detector_names",
                   [](const PyAnalysis& self) { return self.analysis.detector_names(); })
      .def_prop_ro("model", [](const PyAnalysis& self) { return self.analysis.model(); })
      .def(
          "requests",
          [](const PyAnalysis& self) {
            std::vector<std::tuple<std::string, std::string, int, float, uint32_t>> out;
            for (const PointRequest& r : self.analysis.requests()) {
              out.emplace_back(r.key.fqn, PositionName(r.key.position), r.options.channel_axis,
                               r.options.comp_percentile, r.options.statistics);
            }
            return out;
          },
          "The merged observer requests: (fqn, 'pre'|'post', channel axis, percentile, "
          "statistics bits), one per observer.")
      .def(
          "set_weights",
          [](PyAnalysis& self, const std::vector<nb::object>& weights) {
            std::vector<TensorView> views;
            std::vector<nb::object> owners;
            const auto& layers = self.analysis.model().layers;
            for (size_t i = 0; i < weights.size(); ++i) {
              const std::string what =
                  "the weight of layer '" + (i < layers.size() ? layers[i].fqn : "?") + "'";
              views.push_back(ViewOf(nb::cast<CpuArray>(weights[i]), what.c_str()));
              owners.push_back(weights[i]);
            }
            self.analysis.SetWeights(std::move(views));
            self.weight_owners = std::move(owners);
          },
          nb::arg("weights"),
          "The analysed weight of every layer (float, BatchNorm folded), in the model's order.")
      .def(
          "check_serves",
          [](const PyAnalysis& self, const ObserverBank& bank, const std::string& source) {
            self.analysis.CheckServes(bank, source);
          },
          nb::arg("bank"), nb::arg("source"))
      .def(
          "run",
          [](const PyAnalysis& self, const ObserverBank& bank, int threads) {
            Report report;
            {
              nb::gil_scoped_release release;
              report = self.analysis.Run(bank);
            }
            report.threads = threads;
            ModelDescription model = self.analysis.model();
            model.weights.clear();
            return PyReport{std::move(report), std::move(model), self.analysis.current()};
          },
          nb::arg("bank"), nb::arg("threads") = 0,
          "The report on the bank's statistics; `threads`: what calibration ran on (0: not "
          "known).");

  nb::class_<ObserverBank>(m, "Bank")
      .def(
          "__init__",
          [](ObserverBank* self, const PyAnalysis& analysis, std::string fingerprint,
             std::string path) {
            new (self) ObserverBank({std::move(fingerprint), std::move(path)},
                                    analysis.analysis.requests());
          },
          nb::arg("analysis"), nb::arg("fingerprint"), nb::arg("path"))
      .def_prop_ro("size", &ObserverBank::size)
      .def_prop_ro("batches", &ObserverBank::batches)
      .def_prop_ro("mapped_updates", &ObserverBank::mapped_updates,
                   "Observations derived from another observer's batch, without reading a "
                   "tensor (this process only: not saved or merged).")
      .def_prop_ro("fingerprint", [](const ObserverBank& bank) { return bank.model().fingerprint; })
      .def("add_batches", &ObserverBank::AddBatches, nb::arg("count"))
      .def(
          "key",
          [](const ObserverBank& bank, size_t slot) {
            QREPORT_CHECK(slot < bank.size(), "observer slot {} out of range ({} observers)", slot,
                          bank.size());
            return std::make_pair(bank.key(slot).fqn,
                                  std::string(PositionName(bank.key(slot).position)));
          },
          nb::arg("slot"))
      .def(
          "observe",
          [](ObserverBank& bank, const std::vector<size_t>& slots, const CpuArray& array,
             size_t site) {
            for (size_t slot : slots) {
              QREPORT_CHECK(slot < bank.size(), "observer slot {} out of range ({} observers)",
                            slot, bank.size());
            }
            const TensorView view = ViewOf(array, "the observed tensor");
            nb::gil_scoped_release release;
            bank.ObserveAll(slots, view, site);
          },
          nb::arg("slots"), nb::arg("tensor"), nb::arg("site") = 0,
          "Folds one activation into the observers at `slots`, reading the tensor's own memory "
          "(no copy), once where the others can be derived from the richest "
          "(ObserverBank::ObserveAll). The GIL is released meanwhile.")
      .def(
          "observe_through",
          [](ObserverBank& bank, size_t slot, size_t input_slot, float low, float high) {
            QREPORT_CHECK(slot < bank.size() && input_slot < bank.size() && slot != input_slot,
                          "observer slots {} <- {} out of range ({} observers)", slot, input_slot,
                          bank.size());
            ClampMap map;
            map.low = low;
            map.high = high;
            return bank.ObserveThrough(slot, input_slot, map);
          },
          nb::arg("slot"), nb::arg("input_slot"), nb::arg("low"), nb::arg("high"),
          "Folds into `slot` the batch `input_slot` saw last, mapped through clamp(x, low, "
          "high), without reading a tensor; False (nothing changed) where that would not be "
          "exact, and the caller observes the tensor itself.")
      .def(
          "issues",
          [](const ObserverBank& bank, size_t slot) {
            const ObserverIssues& issues = bank.state(slot).issues();
            return std::make_tuple(issues.nonfinite_values, issues.empty_batches,
                                   issues.missing_axis_batches, issues.channel_mismatch_batches);
          },
          nb::arg("slot"),
          "(non-finite values, empty batches, batches without the channel axis, batches with "
          "another channel count) seen by the observer.")
      .def(
          "input_range",
          [](const ObserverBank& bank,
             const std::string& fqn) -> std::optional<std::pair<float, float>> {
            float low = std::numeric_limits<float>::infinity(), high = -low;
            for (size_t slot = 0; slot < bank.size(); ++slot) {
              if (!(bank.key(slot) == PointKey{fqn, ObservationPosition::kPre})) continue;
              const ObserverState& state = bank.state(slot);
              if ((state.options().statistics & kRangeStatistics) != 0 && state.num_batches() > 0) {
                return std::make_pair(state.epoch_min(), state.epoch_max());
              }
              for (size_t c = 0; c < state.min_val().size(); ++c) {
                low = std::min(low, state.min_val()[c]);
                high = std::max(high, state.max_val()[c]);
              }
            }
            if (low > high) return std::nullopt;
            return std::make_pair(low, high);
          },
          nb::arg("fqn"),
          "(min, max) of every finite value the module's input held, or None when no "
          "observer of its input kept them.")
      .def("merge", &ObserverBank::Merge, nb::arg("other"))
      .def("restore", &ObserverBank::Restore, nb::arg("saved"))
      .def("save", &ObserverBank::Save, nb::arg("path"))
      .def_static("load", &ObserverBank::Load, nb::arg("path"))
      .def(
          "to_bytes",
          [](const ObserverBank& bank) {
            const std::vector<uint8_t> bytes = bank.ToBytes();
            return nb::bytes(reinterpret_cast<const char*>(bytes.data()), bytes.size());
          },
          "The state as 'qreport calibrate --state' writes it, in memory.")
      .def_static(
          "from_bytes",
          [](const nb::bytes& data, const std::string& source) {
            return ObserverBank::FromBytes(static_cast<const uint8_t*>(data.data()), data.size(),
                                           source);
          },
          nb::arg("data"), nb::arg("source"),
          "A state from to_bytes() (or a state file's bytes); `source` names it in errors.");

  nb::class_<PyReport>(m, "Report")
      .def_prop_ro("batches", [](const PyReport& r) { return r.report.batches; })
      .def_prop_ro("model_path", [](const PyReport& r) { return r.report.model_path; })
      .def("text", [](const PyReport& r) { return RenderReportText(r.report); })
      .def("report_json", [](const PyReport& r) { return ReportToJson(r.report).dump(2) + "\n"; })
      .def("qconfig_mapping_json",
           [](const PyReport& r) {
             return RecommendQConfigMapping(r.model, r.report, r.current).ToJson().dump(2) + "\n";
           })
      .def("qconfig_mapping_python",
           [](const PyReport& r) {
             return ToPython(RecommendQConfigMapping(r.model, r.report, r.current));
           })
      .def("equalization_mapping_json",
           [](const PyReport& r) {
             return RecommendEqualizationMapping(r.model, r.report).dump(2) + "\n";
           })
      .def(
          "recommended_layers",
          [](const PyReport& r) {
            const QConfigMapping mapping = RecommendQConfigMapping(r.model, r.report, r.current);
            std::vector<std::tuple<std::string, std::string, std::string,
                                   std::optional<std::string>, std::optional<std::string>>>
                out;
            for (const LayerDescription& layer : r.model.layers) {
              const bool fused = !layer.fused_parent_fqn.empty();
              const std::string name = fused ? layer.fused_parent_fqn : layer.fqn;
              const auto config =
                  mapping.Resolve(name, fused ? layer.fused_parent_type : layer.module_type);
              std::optional<std::string> activation, weight;
              if (config) {
                activation = ToString(config->activation);
                weight = ToString(config->weight);
              }
              out.emplace_back(layer.fqn, name, ToString(layer.kind), activation, weight);
            }
            return out;
          },
          "Per layer: (fqn, the name the mapping uses, kind, activation 'static'|'dynamic' or "
          "None when left in float, weight 'per_tensor'|'per_channel' or None).")
      .def("html",
           [](const PyReport& r) {
             const ReportDocuments documents{
                 ReportToJson(r.report),
                 RecommendQConfigMapping(r.model, r.report, r.current).ToJson(),
                 RecommendEqualizationMapping(r.model, r.report)};
             return RenderHtmlReport(documents);
           })
      .def(
          "csv_tables",
          [](const PyReport& r, const std::string& feature, const std::string& module) {
            const FilteredTables tables =
                Visualizer(r.report).GenerateFilteredTables({feature, module});
            return std::make_pair(TensorTableCsv(tables.tensor), ChannelTableCsv(tables.channel));
          },
          nb::arg("feature") = "", nb::arg("module") = "",
          "(tensor_table.csv, channel_table.csv) as the CLI writes them.");
}

}  // namespace qreport::python
