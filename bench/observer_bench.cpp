// The cost of calibration against plain inference on one model, measured in one process so
// the ratios are fair:
//   qreport_observer_bench --model resnet18.pt --input-shape 8,3,224,224
// Benchmarks: the model's plain TorchScript forward; the prepared (instrumented) forward with
// all statistics at every point; the instrumented forward with no statistic (the taps' own
// cost); and the observers alone on the activations the model produces at every point
// (captured once, for two different input batches so consecutive updates see different
// data, as in a calibration). Plain and calibration forwards are best compared in one run with
// --benchmark_enable_random_interleaving=true: the machine's load drifts.
//
//   qreport_observer_bench --model resnet18.pt --capture-dir DIR
// also writes the first batch's activations as DIR/NN.npy with DIR/points.json, for
// bench/reference_observer_bench.py to time PyTorch's ModelReportObserver on the same
// tensors; BM_ObserversFresh times qreport the way that script times the reference.
#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/runtime/graph_iterator.h>
#include <torch/custom_class.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "qreport/core/observe/observer.h"
#include "qreport/torchscript/calibration_data.h"
#include "qreport/torchscript/prepared_model.h"

namespace {

using qreport::ObserverOptions;
using qreport::ObserverState;
using qreport::torchscript::Model;
using qreport::torchscript::PreparedModel;

constexpr int kCapturedBatches = 2;

struct Setup {
  std::string model_path;
  std::vector<int64_t> input_shape;
  std::string capture_dir;
};

Setup& GetSetup() {
  static Setup setup;  // filled once in main, read-only afterwards
  return setup;
}

std::vector<c10::IValue> Input(uint64_t seed = 0) {
  torch::manual_seed(seed);
  return {torch::randn(GetSetup().input_shape)};
}

// Stands in for the prepared model's observer tap and keeps every activation it is handed.
class Capture : public torch::CustomClassHolder {
 public:
  void Observe(const at::Tensor& activation, int64_t slot, int64_t /*site*/) {
    seen_.emplace_back(slot, activation.detach().clone());
  }
  std::vector<std::pair<int64_t, at::Tensor>> seen_;
};

TORCH_LIBRARY(qreport_bench, m) { m.class_<Capture>("Capture").def("observe", &Capture::Observe); }

// One observation point's activations, one tensor per captured input batch.
struct CapturedPoint {
  std::string name;
  int channel_axis = 1;
  std::vector<at::Tensor> batches;
};

// Every layer's input and output, each with its own tap: points that observe the same value
// (a fused output that is the next layer's input) would otherwise share one, so each request
// gets its own percentile. The percentile does not change what is captured.
std::vector<CapturedPoint> CaptureActivations(const Model& model) {
  const std::vector<qreport::PointRequest> defaults =
      qreport::torchscript::AllPoints(PreparedModel::Prepare(model, {}).layers());
  qreport::torchscript::PrepareOptions options;
  for (size_t i = 0; i < defaults.size(); ++i) {
    options.points.push_back(defaults[i]);
    options.points.back().options.comp_percentile = 0.5f + 0.001f * static_cast<float>(i);
  }
  PreparedModel prepared = PreparedModel::Prepare(model, options);
  torch::jit::Module module = prepared.module();  // a handle to the instrumented clone
  auto capture = c10::make_intrusive<Capture>();
  module.register_attribute("_bench_capture",
                            c10::getCustomClassType<c10::intrusive_ptr<Capture>>(), capture);
  std::shared_ptr<torch::jit::Graph> graph =
      torch::jit::toGraphFunction(module.get_method("forward").function()).graph();
  std::vector<torch::jit::Node*> taps;
  torch::jit::DepthFirstGraphNodeIterator it(graph);
  for (torch::jit::Node* node = it.next(); node != nullptr; node = it.next()) {
    if (node->kind() == c10::prim::CallMethod && node->s(c10::attr::name) == "observe") {
      taps.push_back(node);
    }
  }
  for (torch::jit::Node* tap : taps) {
    torch::jit::WithInsertPoint guard(tap);
    tap->replaceInput(
        0, graph->insertNode(graph->createGetAttr(graph->inputs()[0], "_bench_capture"))->output());
  }

  std::map<int64_t, CapturedPoint> by_slot;
  torch::NoGradGuard no_grad;
  for (int b = 0; b < kCapturedBatches; ++b) {
    capture->seen_.clear();
    module.forward(Input(static_cast<uint64_t>(b)));
    for (auto& [slot, tensor] : capture->seen_) {
      CapturedPoint& point = by_slot[slot];
      const auto s = static_cast<size_t>(slot);
      point.name = qreport::ToString(prepared.bank().key(s));
      point.channel_axis = prepared.bank().state(s).options().channel_axis;
      point.batches.push_back(tensor);
    }
  }
  std::vector<CapturedPoint> points;
  for (auto& [slot, point] : by_slot) {
    if (point.batches.size() != kCapturedBatches) {
      throw std::runtime_error(point.name + ": not observed once per forward");
    }
    points.push_back(std::move(point));
  }
  return points;
}

const std::vector<CapturedPoint>& Captured() {
  static const std::vector<CapturedPoint> points =
      CaptureActivations(Model::Load(GetSetup().model_path));
  return points;
}

// A float32 array as NumPy's .npy format (version 1.0).
void WriteNpy(const std::string& path, const at::Tensor& tensor) {
  const at::Tensor data = tensor.to(at::kFloat).contiguous();
  std::string shape;
  for (int64_t size : data.sizes()) shape += std::to_string(size) + ", ";
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + shape + "), }";
  header.append(63 - (10 + header.size()) % 64, ' ');
  header += '\n';
  std::ofstream out(path, std::ios::binary);
  const auto length = static_cast<uint16_t>(header.size());
  out.write("\x93NUMPY\x01\x00", 8);
  out.put(static_cast<char>(length & 0xff)).put(static_cast<char>(length >> 8));
  out << header;
  out.write(static_cast<const char*>(data.data_ptr()),
            static_cast<std::streamsize>(data.numel() * sizeof(float)));
  if (!out) throw std::runtime_error("cannot write " + path);
}

void WriteCapture(const std::string& dir) {
  nlohmann::json points = nlohmann::json::array();
  const auto& captured = Captured();
  for (size_t i = 0; i < captured.size(); ++i) {
    const std::string file = fmt::format("{:02}.npy", i);
    WriteNpy(dir + "/" + file, captured[i].batches[0]);
    points.push_back(
        {{"file", file}, {"point", captured[i].name}, {"channel_axis", captured[i].channel_axis}});
  }
  std::ofstream(dir + "/points.json") << nlohmann::json{{"points", points}}.dump(1) << "\n";
  std::cerr << "wrote " << captured.size() << " activations to " << dir << "\n";
}

ObserverOptions AllStatistics(int channel_axis) {
  ObserverOptions options;
  options.channel_axis = channel_axis;
  return options;
}

// Points that observe the very same values (a fused output that is the next layer's input,
// or one input of two layers) are computed once in a calibration; "distinct" counts the rest.
void SetCounters(benchmark::State& state, const std::vector<CapturedPoint>& points) {
  double elements = 0;
  double distinct_elements = 0;
  int distinct = 0;
  for (size_t i = 0; i < points.size(); ++i) {
    const at::Tensor& tensor = points[i].batches[0];
    elements += static_cast<double>(tensor.numel());
    bool seen = false;
    for (size_t j = 0; j < i && !seen; ++j) {
      seen = points[j].batches[0].sizes() == tensor.sizes() &&
             torch::equal(points[j].batches[0], tensor);
    }
    if (seen) continue;
    ++distinct;
    distinct_elements += static_cast<double>(tensor.numel());
  }
  state.counters["points"] = static_cast<double>(points.size());
  state.counters["Melements"] = elements / 1e6;
  state.counters["distinct"] = distinct;
  state.counters["distinct_Melements"] = distinct_elements / 1e6;
}

void BM_PlainForward(benchmark::State& state) {
  const Model model = Model::Load(GetSetup().model_path);
  torch::jit::Module module = model.module().clone();
  module.eval();
  const auto input = Input();
  torch::NoGradGuard no_grad;
  for (int i = 0; i < 2; ++i) module.forward(input);  // profiling runs of the executor
  for (auto _ : state) benchmark::DoNotOptimize(module.forward(input));
}

void BM_CalibrationForward(benchmark::State& state) {
  const Model model = Model::Load(GetSetup().model_path);
  PreparedModel prepared = PreparedModel::Prepare(model, {});
  const auto input = Input();
  for (int i = 0; i < 2; ++i) prepared.Forward(input);
  for (auto _ : state) benchmark::DoNotOptimize(prepared.Forward(input));
  state.counters["points"] = static_cast<double>(prepared.bank().size());
}

// The instrumentation alone: every point tapped, no statistic computed.
void BM_TapsOnlyForward(benchmark::State& state) {
  const Model model = Model::Load(GetSetup().model_path);
  qreport::torchscript::PrepareOptions options;
  options.points = qreport::torchscript::AllPoints(PreparedModel::Prepare(model, {}).layers());
  for (qreport::PointRequest& point : options.points) {
    point.options.statistics = qreport::kNoStatistics;
  }
  PreparedModel prepared = PreparedModel::Prepare(model, options);
  const auto input = Input();
  for (int i = 0; i < 2; ++i) prepared.Forward(input);
  for (auto _ : state) benchmark::DoNotOptimize(prepared.Forward(input));
  state.counters["points"] = static_cast<double>(prepared.bank().size());
}

// Every point's observer, each update on the next captured batch (as a calibration runs).
void BM_ObserversAlone(benchmark::State& state) {
  const auto& points = Captured();
  std::vector<ObserverState> observers;
  for (const CapturedPoint& point : points) {
    observers.emplace_back(AllStatistics(point.channel_axis));
  }
  size_t batch = 0;
  for (auto _ : state) {
    for (size_t i = 0; i < points.size(); ++i) {
      at::Tensor keep_alive;
      observers[i].Update(
          qreport::torchscript::ViewOf(points[i].batches[batch % kCapturedBatches], keep_alive));
    }
    ++batch;
  }
  SetCounters(state, points);
}

// A fresh observer per point on the first batch: what reference_observer_bench.py times.
void BM_ObserversFresh(benchmark::State& state) {
  const auto& points = Captured();
  for (auto _ : state) {
    for (const CapturedPoint& point : points) {
      ObserverState observer(AllStatistics(point.channel_axis));
      at::Tensor keep_alive;
      observer.Update(qreport::torchscript::ViewOf(point.batches[0], keep_alive));
      benchmark::DoNotOptimize(observer);
    }
  }
  SetCounters(state, points);
}

BENCHMARK(BM_PlainForward)
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime()
    ->UseRealTime()
    ->MinTime(3.0);
BENCHMARK(BM_CalibrationForward)
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime()
    ->UseRealTime()
    ->MinTime(3.0);
BENCHMARK(BM_TapsOnlyForward)
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime()
    ->UseRealTime()
    ->MinTime(3.0);
BENCHMARK(BM_ObserversAlone)
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime()
    ->UseRealTime()
    ->MinTime(3.0);
BENCHMARK(BM_ObserversFresh)
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime()
    ->UseRealTime()
    ->MinTime(3.0);

}  // namespace

int main(int argc, char** argv) {
  Setup& setup = GetSetup();
  std::vector<char*> rest{argv[0]};
  std::string shape = "8,3,224,224";
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--model" && i + 1 < argc) {
      setup.model_path = argv[++i];
    } else if (arg == "--input-shape" && i + 1 < argc) {
      shape = argv[++i];
    } else if (arg == "--capture-dir" && i + 1 < argc) {
      setup.capture_dir = argv[++i];
    } else {
      rest.push_back(argv[i]);
    }
  }
  if (setup.model_path.empty()) {
    std::cerr << "usage: qreport_observer_bench --model MODEL.pt [--input-shape 8,3,224,224] "
                 "[--capture-dir DIR] [benchmark flags]\n";
    return 2;
  }
  setup.input_shape = qreport::torchscript::ParseShape(shape);
  if (!setup.capture_dir.empty()) WriteCapture(setup.capture_dir);
  int count = static_cast<int>(rest.size());
  benchmark::Initialize(&count, rest.data());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
