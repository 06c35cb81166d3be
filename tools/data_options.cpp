#include "data_options.h"

#include <cmath>
#include <cstdlib>

#include <ATen/Parallel.h>

#include "qreport/core/error.h"
#include "thread_policy.h"

namespace qreport::cli {
namespace {

// "1/255", "0.5" or "2" -> the number; throws qreport::Error naming --input-scale.
double ParseScale(const std::string& text) {
  const auto slash = text.find('/');
  auto number = [&](const std::string& piece) {
    size_t used = 0;
    double value = 0;
    try {
      value = std::stod(piece, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    QREPORT_CHECK(!piece.empty() && used == piece.size() && std::isfinite(value),
                  "--input-scale {}: expected a number or a fraction, e.g. 1/255 or 0.5", text);
    return value;
  };
  const double value = slash == std::string::npos
                           ? number(text)
                           : number(text.substr(0, slash)) / number(text.substr(slash + 1));
  QREPORT_CHECK(std::isfinite(value) && value != 0,
                "--input-scale {}: expected a finite, non-zero "
                "factor, e.g. 1/255",
                text);
  return value;
}

c10::ScalarType FloatingType(const std::string& name) {
  if (name == "float64") return at::kDouble;
  if (name == "float16") return at::kHalf;
  if (name == "bfloat16") return at::kBFloat16;
  return at::kFloat;
}

}  // namespace

void AddDataOptions(CLI::App* cmd, DataSelection& selection) {
  auto* data =
      cmd->add_option("--data", selection.data,
                      "Calibration batches, one per file: .npy (one input), .npz (one array per "
                      "input, matched to forward's argument names, else in order), directories "
                      "of them (sorted by name), or ARCHIVE.pt:ATTR (a TorchScript module's "
                      "attribute: a tensor, or a list of batches of tensors). Floating arrays "
                      "become float32, integer arrays int64 (see --input-dtype for images "
                      "stored as uint8). An input forward takes as List[Tensor] is split along "
                      "dimension 0: [N,C,H,W] becomes N images")
          ->type_name("FILE|DIR|ARCHIVE.pt:ATTR...");
  cmd->add_option("--batch-size", selection.batch_size,
                  "Split each data file along dimension 0 into batches of N rows (the last may "
                  "be smaller); without it each file is one batch")
      ->check(CLI::PositiveNumber)
      ->needs(data)
      ->type_name("N");
  cmd->add_option("--input-dtype", selection.input_dtype,
                  "Cast every --data input to this floating type, e.g. images stored as uint8 "
                  "for a float model: --input-dtype float32 --input-scale 1/255")
      ->check(CLI::IsMember({"float32", "float64", "float16", "bfloat16"}))
      ->needs(data)
      ->type_name("float32|float64|float16|bfloat16");
  cmd->add_option("--input-scale", selection.input_scale,
                  "Multiply every --data input by this factor after the cast (a number or a "
                  "fraction: 1/255); scaled integer inputs become float32")
      ->needs(data)
      ->type_name("FACTOR");
  auto* shape = cmd->add_option("--input-shape", selection.input_shapes,
                                "Synthetic data of this shape instead (repeat for several "
                                "inputs), e.g. --input-shape 8,3,224,224. An input forward "
                                "takes as List[Tensor] (detection models' images) gets the "
                                "batch split along dimension 0: 2,3,320,320 is two images")
                    ->type_name("N,C,...");
  data->excludes(shape);
  cmd->add_option("--batches", selection.batches, "Number of synthetic batches")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--seed", selection.seed, "Seed of the synthetic data")->capture_default_str();
  cmd->add_option("--distribution", selection.distribution, "Synthetic values: normal or uniform")
      ->check(CLI::IsMember({"normal", "uniform"}))
      ->capture_default_str();
  cmd->add_option("--threads", selection.threads,
                  "Intra-op threads for the model and the observers; default: OMP_NUM_THREADS "
                  "or MKL_NUM_THREADS when set, else every CPU this process may run on (its "
                  "affinity, as taskset or a container's cpuset narrow it)")
      ->check(CLI::PositiveNumber)
      ->type_name("N");
  cmd->add_flag("--return-freed-memory", selection.return_freed_memory,
                "Let glibc return the memory a batch frees to the system, as it does by "
                "default, instead of keeping up to 64 MiB of it for the next batch: lower "
                "resident memory between batches, slower calibration where a forward pass "
                "allocates many large temporaries (transformers; see bench/RESULTS.md). "
                "MALLOC_* or GLIBC_TUNABLES malloc settings in the environment are always "
                "left as they are");
}

int UseThreads(const DataSelection& selection) {
  at::set_num_threads(ChooseThreads(
      selection.threads, [](const char* name) { return std::getenv(name); }, UsableCpus()));
  return at::get_num_threads();
}

HeapPolicy HeapPolicyOf(const DataSelection& selection) {
  return selection.return_freed_memory ? HeapPolicy::kSystemDefault : HeapPolicy::kKeepFreedMemory;
}

std::unique_ptr<torchscript::CalibrationData> MakeData(const DataSelection& selection,
                                                       const torchscript::Model& model,
                                                       const char* command) {
  QREPORT_CHECK(!selection.empty(), "{} needs data: --data FILE... or --input-shape N,C,...",
                command);
  if (!selection.data.empty()) {
    torchscript::DataOptions files;
    files.batch_size = selection.batch_size;
    files.arguments = torchscript::ForwardArguments(model.module());
    if (!selection.input_dtype.empty()) files.input_dtype = FloatingType(selection.input_dtype);
    files.input_scale = ParseScale(selection.input_scale);
    return torchscript::FileData(selection.data, files);
  }
  torchscript::SyntheticOptions synthetic;
  synthetic.arguments = torchscript::ForwardArguments(model.module());
  for (const std::string& shape : selection.input_shapes) {
    synthetic.input_shapes.push_back(torchscript::ParseShape(shape));
  }
  synthetic.batches = selection.batches;
  synthetic.seed = selection.seed;
  synthetic.distribution = selection.distribution == "uniform"
                               ? torchscript::SyntheticOptions::Distribution::kUniform
                               : torchscript::SyntheticOptions::Distribution::kNormal;
  return torchscript::SyntheticData(synthetic);
}

}  // namespace qreport::cli
