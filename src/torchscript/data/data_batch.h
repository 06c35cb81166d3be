// Private: one calibration batch as a file holds it, and how it becomes forward's argument
// list (matched by name or order, counted against forward's schema, converted dtypes).
#ifndef QREPORT_SRC_TORCHSCRIPT_DATA_DATA_BATCH_H_
#define QREPORT_SRC_TORCHSCRIPT_DATA_DATA_BATCH_H_

#include <string>
#include <vector>

#include <torch/script.h>

#include "qreport/torchscript/calibration_data.h"

namespace qreport::torchscript::internal {

// One batch as read, before it is matched to forward's arguments.
struct RawBatch {
  std::string origin;              // "calib/b3.npz", "big.npy[8:16]", "c.pt:inputs[2]"
  std::vector<std::string> names;  // the file's name for each tensor; "" when it has none
  std::vector<at::Tensor> tensors;
};

// Throws Error(kBadData) naming the origin and the input when a tensor holds no elements.
void CheckNotEmpty(const RawBatch& batch);

// Splits every tensor along dimension 0 into batches of `rows` (the last may be smaller);
// origins get a row range ("big.npy[0:8]"). Throws Error(kBadData) when a tensor is 0-d or the
// leading dimensions differ. REQUIRES: rows > 0, CheckNotEmpty(batch) passed.
std::vector<RawBatch> SplitRows(const RawBatch& batch, int64_t rows);

// forward's argument list for `batch`, and its description for error messages.
struct ArrangedBatch {
  std::vector<c10::IValue> inputs;
  std::string description;  // "calib/b3.npz: inputs 'x' (float32 [8,3]), 'y' (int64 [8])"
};

// Whether forward's argument takes a list of tensors (torchvision's detection models'
// `images: List[Tensor]`).
bool IsTensorList(const ForwardArgument& argument);

// Gives every argument of `arguments` that takes a List[Tensor] the list of its input's slices
// along dimension 0: a batch [N, C, H, W] becomes N images [C, H, W]. `inputs` are in the
// order of `arguments`; inputs that are not tensors are left alone. Throws Error(kBadData)
// naming `origin` and the argument when such an input is 0-d.
void SplitListArguments(std::vector<c10::IValue>& inputs,
                        const std::vector<ForwardArgument>& arguments, const std::string& origin);

// " (float32 [8,3])" for a tensor, " (list of 8 float32 [3,32,32])" for a list of tensors
// of one type and shape, " (default)" for anything else: what a batch's input is, for
// descriptions.
std::string InputSummary(const c10::IValue& input);

// Matches `batch` to options.arguments (see DataOptions) and converts dtypes. Throws
// Error(kBadData) naming the origin, the count and forward's arguments when the inputs do not
// fit: too few or too many, an entry that names no argument, an argument missing by name.
// Inputs of List[Tensor] arguments are split as SplitListArguments says.
ArrangedBatch Arrange(RawBatch batch, const DataOptions& options);

}  // namespace qreport::torchscript::internal

#endif  // QREPORT_SRC_TORCHSCRIPT_DATA_DATA_BATCH_H_
