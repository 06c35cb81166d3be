// Private: the observer calls in a prepared clone's graph. The clone holds an ObserverTap
// object (a TorchScript custom class) that owns the ObserverBank, and the graph calls its
// methods where an activation is observed, so no global registry is needed.
#ifndef QREPORT_SRC_TORCHSCRIPT_CALIBRATE_OBSERVER_TAP_H_
#define QREPORT_SRC_TORCHSCRIPT_CALIBRATE_OBSERVER_TAP_H_

#include <cstddef>
#include <memory>

#include <torch/csrc/jit/ir/ir.h>
#include <torch/script.h>

#include "qreport/core/observe/observer.h"
#include "qreport/core/observe/observer_bank.h"

namespace qreport::torchscript::internal {

// Gives `clone` the tap the inserted calls use. `seconds` accumulates the time spent in the
// observers.
void AttachObserverTap(torch::jit::Module& clone, std::shared_ptr<ObserverBank> bank,
                       std::shared_ptr<double> seconds);

// At the graph's insertion point: observe `value` in the bank's `slot`, at call site `site`.
void InsertTap(torch::jit::Graph& graph, torch::jit::Value* value, size_t slot, size_t site);

// At the graph's insertion point: `output` is `map` applied to `input`, which `input_slot`
// observed just before; the tap maps that observer's batch when it can and reads `output`
// otherwise.
void InsertClampTap(torch::jit::Graph& graph, torch::jit::Value* output, torch::jit::Value* input,
                    size_t slot, size_t site, size_t input_slot, const ClampMap& map);

}  // namespace qreport::torchscript::internal

#endif  // QREPORT_SRC_TORCHSCRIPT_CALIBRATE_OBSERVER_TAP_H_
