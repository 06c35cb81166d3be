// Tensors from Python as the core's TensorView, without a copy: nanobind takes any object
// that speaks DLPack (torch.Tensor, NumPy arrays) and hands over its data pointer, sizes and
// strides. The view borrows the memory; the caller keeps the array alive while it is read.
#ifndef QREPORT_PYTHON_ARRAY_VIEW_H_
#define QREPORT_PYTHON_ARRAY_VIEW_H_

#include <nanobind/ndarray.h>

#include "qreport/core/data/tensor_view.h"

namespace qreport::python {

// Any dtype, any strides, CPU memory only (front-ends move other devices' tensors first).
using CpuArray = nanobind::ndarray<nanobind::ro, nanobind::device::cpu>;

// The view of `array`'s own memory. Throws qreport::Error(kInvalidArgument) for element types
// the core does not read (complex, unsigned wider than 8 bits), for more than
// TensorView::kMaxDims dimensions, and for negative strides; `what` names the array in it.
TensorView ViewOf(const CpuArray& array, const char* what);

}  // namespace qreport::python

#endif  // QREPORT_PYTHON_ARRAY_VIEW_H_
