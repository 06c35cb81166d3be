// The whole Model Report against plain inference on one model, in one process so the ratios
// are fair (bench/run_bench.py runs it for every model and writes bench/RESULTS.md):
//
//   qreport_model_report_bench --model resnet18.pt --data batches/ --repetitions 5
//   qreport_model_report_bench --model mlp.pt --input-shape 64,784 --batches 4
//
// Each repetition times, in rotating order so that drifting machine load hits all alike:
//  - plain: the model's own TorchScript forward on every batch;
//  - calibration: what a user of qreport::torchscript::ModelReport runs: the report with the
//    four built-in detectors, PrepareDetailedCalibration, every batch, then
//    GenerateModelReport(true) and the text report;
//    the part of each batch spent in the observers (PreparedModel::observer_seconds) splits
//    it into the forward and the statistics.
// The result is one JSON object on stdout: milliseconds per batch and per phase, per
// repetition (the script takes medians).
//
//   qreport_model_report_bench --model resnet18.pt --data batches/ --batches 3 --mode plain
//   qreport_model_report_bench --model resnet18.pt --data batches/ --batches 3 --mode calibrate
// runs only plain inference or only the calibration with its report, once, reading one batch
// at a time, and prints the process's peak resident memory: what each costs on its own.
#include <ATen/Parallel.h>
#include <torch/version.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "qreport/core/detect/detector.h"
#include "qreport/core/detect/report.h"
#include "qreport/core/error.h"
#include "qreport/torchscript/calibration_data.h"
#include "qreport/torchscript/model_report.h"

namespace {

using Clock = std::chrono::steady_clock;
using qreport::torchscript::Model;
using qreport::torchscript::ModelReport;
using qreport::torchscript::PreparedModel;
using Batch = std::vector<c10::IValue>;

double MsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

struct Options {
  std::string model_path;
  std::string data_path;    // a directory of .npy batches (export_bench_models.py)
  std::string input_shape;  // or synthetic batches of this shape
  int64_t batches = 0;      // the first N of --data (0: all), or N synthetic ones (0: 4)
  int repetitions = 3;
  int threads = 0;           // 0: LibTorch's default
  std::string mode = "all";  // all | plain | calibrate
};

std::unique_ptr<qreport::torchscript::CalibrationData> OpenData(const Options& options,
                                                                const Model& model) {
  if (!options.data_path.empty()) {
    qreport::torchscript::DataOptions data;
    data.arguments = qreport::torchscript::ForwardArguments(model.module());
    return qreport::torchscript::FileData({options.data_path}, data);
  }
  qreport::torchscript::SyntheticOptions synthetic;
  synthetic.input_shapes = {qreport::torchscript::ParseShape(options.input_shape)};
  synthetic.batches = options.batches > 0 ? options.batches : 4;
  return qreport::torchscript::SyntheticData(synthetic);
}

// The next batch, or nullopt once `limit` batches were taken (0: no limit).
std::optional<Batch> NextBatch(qreport::torchscript::CalibrationData& data, int64_t limit,
                               int64_t taken) {
  if (limit > 0 && taken >= limit) return std::nullopt;
  return data.Next();
}

std::vector<std::unique_ptr<qreport::Detector>> AllDetectors() {
  qreport::DetectorOptions options;
  // The reference runner uses qnnpack: Debian's PyTorch has no fbgemm/x86 engine.
  options.per_channel.backend = qreport::Backend::kQnnpack;
  options.equalization.ratio_threshold = 0.5;
  const qreport::DetectorRegistry registry = qreport::DetectorRegistry::BuiltIn();
  std::vector<std::unique_ptr<qreport::Detector>> detectors;
  for (const std::string& name : registry.names()) {
    detectors.push_back(registry.Create(name, options));
  }
  return detectors;
}

nlohmann::json TimePlain(const Model& model, const std::vector<Batch>& batches) {
  torch::jit::Module module = model.module();
  torch::NoGradGuard no_grad;
  nlohmann::json per_batch = nlohmann::json::array();
  for (const Batch& batch : batches) {
    const Clock::time_point start = Clock::now();
    module.forward(batch);
    per_batch.push_back(MsSince(start));
  }
  return {{"plain", per_batch}};
}

nlohmann::json TimeCalibration(const Model& model, const std::vector<Batch>& batches) {
  Clock::time_point start = Clock::now();
  ModelReport report(model, AllDetectors());
  PreparedModel& prepared = report.PrepareDetailedCalibration();
  const double setup = MsSince(start);
  nlohmann::json per_batch = nlohmann::json::array();
  nlohmann::json observers = nlohmann::json::array();
  for (const Batch& batch : batches) {
    const double observed_before = prepared.observer_seconds();
    start = Clock::now();
    prepared.Forward(batch);
    per_batch.push_back(MsSince(start));
    observers.push_back((prepared.observer_seconds() - observed_before) * 1e3);
  }
  start = Clock::now();
  const qreport::Report& findings = report.GenerateModelReport(true);
  const double analysis = MsSince(start);
  start = Clock::now();
  const std::string text = qreport::RenderReportText(findings);
  const double rendering = MsSince(start);
  QREPORT_ASSERT(!text.empty(), "empty report");
  return {{"setup", setup},
          {"calibration", per_batch},
          {"observers", observers},
          {"report", analysis + rendering},
          {"report_text", rendering}};
}

nlohmann::json RunAll(const Options& options, const Model& model) {
  std::vector<Batch> batches;
  auto data = OpenData(options, model);
  while (auto batch = NextBatch(*data, options.batches, static_cast<int64_t>(batches.size()))) {
    batches.push_back(std::move(*batch));
  }
  QREPORT_CHECK(!batches.empty(), "no batches");

  // The graph executor profiles a method's first runs before it optimizes; plain inference
  // gets that over with here, each calibration pays it on its fresh clone (its first batches).
  {
    torch::NoGradGuard no_grad;
    torch::jit::Module module = model.module();
    for (int i = 0; i < 2; ++i) module.forward(batches[0]);
  }
  nlohmann::json out = {{"model", options.model_path},
                        {"torch", TORCH_VERSION},
                        {"threads", at::get_num_threads()},
                        {"batches", batches.size()}};
  {
    const ModelReport probe(model, AllDetectors());
    out["layers"] = probe.description().layers.size();
    out["observed_points"] = probe.requests().size();
  }
  using Step = nlohmann::json (*)(const Model&, const std::vector<Batch>&);
  const Step steps[] = {TimePlain, TimeCalibration};
  const int count = static_cast<int>(std::size(steps));
  nlohmann::json runs = nlohmann::json::array();
  for (int r = 0; r < options.repetitions; ++r) {
    nlohmann::json run = nlohmann::json::object();
    for (int i = 0; i < count; ++i) run.update(steps[(r + i) % count](model, batches));
    runs.push_back(std::move(run));
  }
  out["runs"] = std::move(runs);
  return out;
}

// VmHWM: the most resident memory the process ever had.
int64_t PeakRssKib() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6));
  }
  throw std::runtime_error("no VmHWM in /proc/self/status");
}

nlohmann::json RunForMemory(const Options& options, const Model& model) {
  auto data = OpenData(options, model);
  int64_t batches = 0;
  if (options.mode == "plain") {
    torch::NoGradGuard no_grad;
    torch::jit::Module module = model.module();
    while (auto batch = NextBatch(*data, options.batches, batches)) {
      module.forward(std::move(*batch));
      ++batches;
    }
  } else {
    ModelReport report(model, AllDetectors());
    PreparedModel& prepared = report.PrepareDetailedCalibration();
    while (auto batch = NextBatch(*data, options.batches, batches)) {
      prepared.Forward(std::move(*batch));
      ++batches;
    }
    QREPORT_ASSERT(!qreport::RenderReportText(report.GenerateModelReport(true)).empty(),
                   "empty report");
  }
  return {{"mode", options.mode}, {"batches", batches}, {"peak_rss_kib", PeakRssKib()}};
}

constexpr const char* kUsage =
    "usage: qreport_model_report_bench --model MODEL.pt (--data DIR | --input-shape 8,3,224,224) "
    "[--batches N] [--repetitions R] [--threads T] [--mode all|plain|calibrate]\n";

Options ParseArgs(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) throw std::invalid_argument("missing value after " + arg);
    const std::string value = argv[++i];
    if (arg == "--model") {
      options.model_path = value;
    } else if (arg == "--data") {
      options.data_path = value;
    } else if (arg == "--input-shape") {
      options.input_shape = value;
    } else if (arg == "--batches") {
      options.batches = std::stoll(value);
    } else if (arg == "--repetitions") {
      options.repetitions = std::stoi(value);
    } else if (arg == "--threads") {
      options.threads = std::stoi(value);
    } else if (arg == "--mode") {
      options.mode = value;
    } else {
      throw std::invalid_argument("unknown option " + arg);
    }
  }
  if (options.model_path.empty() || options.data_path.empty() == options.input_shape.empty() ||
      (options.mode != "all" && options.mode != "plain" && options.mode != "calibrate") ||
      options.repetitions < 1 || options.batches < 0 || options.threads < 0) {
    throw std::invalid_argument("bad arguments");
  }
  return options;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  try {
    options = ParseArgs(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "qreport_model_report_bench: " << e.what() << "\n" << kUsage;
    return 2;
  }
  try {
    if (options.threads > 0) at::set_num_threads(options.threads);
    const Model model = Model::Load(options.model_path);
    const nlohmann::json out =
        options.mode == "all" ? RunAll(options, model) : RunForMemory(options, model);
    std::cout << out.dump() << "\n";
  } catch (const std::exception& e) {
    std::cerr << "qreport_model_report_bench: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
