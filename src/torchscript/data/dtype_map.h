// Private: the one table between LibTorch's scalar types and the core's DType.
#ifndef QREPORT_SRC_TORCHSCRIPT_DATA_DTYPE_MAP_H_
#define QREPORT_SRC_TORCHSCRIPT_DATA_DTYPE_MAP_H_

#include <optional>

#include <c10/core/ScalarType.h>

#include "qreport/core/data/tensor_view.h"

namespace qreport::torchscript::internal {

// nullopt for types the core does not read (complex, quantized, ...).
std::optional<DType> CoreDType(c10::ScalarType type);
c10::ScalarType TorchType(DType dtype);

}  // namespace qreport::torchscript::internal

#endif  // QREPORT_SRC_TORCHSCRIPT_DATA_DTYPE_MAP_H_
