#include "data_options.h"

#include <cstdlib>

#include <ATen/Parallel.h>

#include "qreport/core/error.h"
#include "thread_policy.h"

namespace qreport::cli {

void AddDataOptions(CLI::App* cmd, DataSelection& selection) {
  auto* data =
      cmd->add_option("--data", selection.data,
                      "Calibration batches, one per file: .npy (one input), .npz (one array per "
                      "input, matched to forward's argument names, else in order), directories "
                      "of them (sorted by name), or ARCHIVE.pt:ATTR (a TorchScript module's "
                      "attribute: a tensor, or a list of batches of tensors). Floating arrays "
                      "become float32, integer arrays int64")
          ->type_name("FILE|DIR|ARCHIVE.pt:ATTR...");
  cmd->add_option("--batch-size", selection.batch_size,
                  "Split each data file along dimension 0 into batches of N rows (the last may "
                  "be smaller); without it each file is one batch")
      ->check(CLI::PositiveNumber)
      ->needs(data)
      ->type_name("N");
  auto* shape = cmd->add_option("--input-shape", selection.input_shapes,
                                "Synthetic data of this shape instead (repeat for several "
                                "inputs), e.g. --input-shape 8,3,224,224")
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
    return torchscript::FileData(selection.data, files);
  }
  torchscript::SyntheticOptions synthetic;
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
