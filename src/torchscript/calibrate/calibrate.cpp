#include "qreport/torchscript/calibrate.h"

#include <algorithm>
#include <filesystem>

#include "qreport/core/error.h"

namespace qreport::torchscript {
namespace {

// Restores a checkpoint into the prepared model's bank; returns the batches it holds.
int64_t ResumeFrom(const std::string& path, ObserverBank& bank) {
  const ObserverBank saved = ObserverBank::Load(path);
  try {
    bank.Restore(saved);
  } catch (const Error& e) {
    throw MakeError(e.kind(), "{}: {}", path, e.what());
  }
  return saved.batches();
}

// Integer tensors (alone or in a list of images) where a float model wanted floats are the
// usual fault of images saved as uint8, which become int64 (indices) by default.
bool HasIntegerTensor(const std::vector<c10::IValue>& inputs) {
  const auto is_integer = [](const at::Tensor& t) {
    return !t.is_floating_point() && !t.is_complex() && t.scalar_type() != at::kBool;
  };
  return std::any_of(inputs.begin(), inputs.end(), [&](const c10::IValue& input) {
    if (input.isTensor()) return is_integer(input.toTensor());
    if (!input.isTensorList()) return false;
    const c10::List<at::Tensor> list = input.toTensorList();
    return std::any_of(list.begin(), list.end(),
                       [&](const at::Tensor& t) { return is_integer(t); });
  });
}

}  // namespace

CalibrationSummary Calibrate(PreparedModel& prepared, CalibrationData& data,
                             const CalibrationOptions& options) {
  QREPORT_CHECK(options.checkpoint_every >= 0, "checkpoint interval must not be negative, got {}",
                options.checkpoint_every);
  QREPORT_CHECK(!options.resume || !options.checkpoint_path.empty(),
                "resuming needs the checkpoint's path");
  CalibrationSummary summary;
  const std::string& path = options.checkpoint_path;
  if (options.resume && std::filesystem::exists(path)) {
    summary.resumed_batches = ResumeFrom(path, prepared.bank());
    // Skipping by reading keeps every source (synthetic ones included) in step.
    for (int64_t i = 0; i < summary.resumed_batches; ++i) {
      QREPORT_CHECK_KIND(data.Next().has_value(), ErrorKind::kBadData,
                         "{}: the checkpoint holds {} batches but the data has only {}; is this "
                         "the data it was calibrated on?",
                         path, summary.resumed_batches, i);
    }
  }
  const auto total = data.size();
  int64_t checkpointed = summary.resumed_batches;
  auto save = [&] {
    prepared.bank().Save(path);
    checkpointed = summary.total();
    ++summary.checkpoints;
  };
  while (auto batch = data.Next()) {
    const bool integer_inputs = HasIntegerTensor(*batch);
    try {
      prepared.Forward(std::move(*batch));
    } catch (const Error& e) {
      // Name the file and inputs the rejected batch came from, and what survives of the run.
      const std::string where = data.Describe();
      std::string message = where.empty() ? e.what() : where + ": " + e.what();
      if (integer_inputs && std::string_view(e.what()).find("type") != std::string_view::npos) {
        message +=
            "; integer data is passed as int64: to feed images stored as integers to a float "
            "model, cast and scale them with --input-dtype float32 --input-scale 1/255";
      }
      if (!path.empty() && checkpointed > 0) {
        message += fmt::format(
            " (batch {}; the checkpoint {} holds the first {} batches: "
            "--resume continues from there)",
            summary.total() + 1, path, checkpointed);
      }
      throw Error(e.kind(), message);
    }
    ++summary.new_batches;
    if (options.on_batch) options.on_batch(summary.total(), total);
    if (!path.empty() && options.checkpoint_every > 0 &&
        summary.total() % options.checkpoint_every == 0) {
      save();
    }
  }
  QREPORT_CHECK_KIND(summary.total() > 0, ErrorKind::kBadData, "no calibration batches were read");
  if (!path.empty() && checkpointed != summary.total()) save();
  return summary;
}

}  // namespace qreport::torchscript
