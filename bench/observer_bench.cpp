// The cost of calibration against plain inference on one model, measured in one process so
// the ratios are fair:
//   qreport_observer_bench --model resnet18.pt --input-shape 8,3,224,224
// Benchmarks: the model's plain TorchScript forward; the prepared (instrumented) forward with
// all statistics at every point; and the observers alone on the activations the model
// produces (captured once).
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "qreport/torchscript/calibration_data.h"
#include "qreport/torchscript/prepared_model.h"

namespace {

using qreport::torchscript::Model;
using qreport::torchscript::PreparedModel;

struct Setup {
  std::string model_path;
  std::vector<int64_t> input_shape;
};

Setup& GetSetup() {
  static Setup setup;  // filled once in main, read-only afterwards
  return setup;
}

std::vector<c10::IValue> Input() {
  torch::manual_seed(0);
  return {torch::randn(GetSetup().input_shape)};
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

BENCHMARK(BM_PlainForward)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(3.0);
BENCHMARK(BM_CalibrationForward)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(3.0);

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
    } else {
      rest.push_back(argv[i]);
    }
  }
  if (setup.model_path.empty()) {
    std::cerr << "usage: qreport_observer_bench --model MODEL.pt [--input-shape 8,3,224,224] "
                 "[benchmark flags]\n";
    return 2;
  }
  setup.input_shape = qreport::torchscript::ParseShape(shape);
  int count = static_cast<int>(rest.size());
  benchmark::Initialize(&count, rest.data());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
