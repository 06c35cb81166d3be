// Runs calibration data through a prepared model, with checkpoints a killed run resumes from.
//
//   auto prepared = qreport::torchscript::PreparedModel::Prepare(model, {});
//   auto data = qreport::torchscript::SyntheticData({{{8, 3, 224, 224}}, 1000});
//   qreport::torchscript::CalibrationOptions options;
//   options.checkpoint_path = "run.qstate";   // rewritten atomically every 100 batches
//   options.resume = true;                    // continue where a killed run stopped
//   auto summary = qreport::torchscript::Calibrate(prepared, *data, options);
#ifndef QREPORT_TORCHSCRIPT_CALIBRATE_H_
#define QREPORT_TORCHSCRIPT_CALIBRATE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "qreport/torchscript/calibration_data.h"
#include "qreport/torchscript/prepared_model.h"

namespace qreport::torchscript {

struct CalibrationOptions {
  // Where the bank is saved every `checkpoint_every` batches and at the end (each write is
  // atomic: a kill leaves the previous checkpoint intact). Empty: nothing is written.
  std::string checkpoint_path;
  // Batches between checkpoints; 0 writes only at the end.
  int64_t checkpoint_every = 100;
  // Continue from checkpoint_path when it exists: its statistics are restored and as many
  // batches as it holds are skipped. The data must be the same, in the same order.
  bool resume = false;
  // Called after every batch with the batches done so far (including resumed ones) and the
  // total when known.
  std::function<void(int64_t done, std::optional<int64_t> total)> on_batch;
};

struct CalibrationSummary {
  int64_t resumed_batches = 0;  // taken over from the checkpoint
  int64_t new_batches = 0;      // run in this call
  int64_t checkpoints = 0;      // checkpoint files written
  int64_t total() const { return resumed_batches + new_batches; }
};

// Throws qreport::Error: kBadData for empty data or a batch the model rejects (the message
// then names the batch's file and inputs, and how many batches the last checkpoint holds),
// kInvalidArgument for a checkpoint of another model or other points, kIo when a checkpoint cannot
// be written.
CalibrationSummary Calibrate(PreparedModel& prepared, CalibrationData& data,
                             const CalibrationOptions& options);

}  // namespace qreport::torchscript

#endif  // QREPORT_TORCHSCRIPT_CALIBRATE_H_
