// Reading NumPy's .npy and .npz files: how calibration data saved from Python (np.save,
// np.savez, np.savez_compressed) reaches the core without Python.
//
//   qreport::NpyArray batch = qreport::ReadNpy("calib/batch0.npy");  // throws qreport::Error
//   qreport::TensorView view = batch.view();  // valid while `batch` lives
//   for (const qreport::NamedArray& entry : qreport::ReadNpz("calib.npz")) {
//     // entry.name: "x" for np.savez(path, x=...), "arr_0" for the first positional array
//   }
//
// Element types: float16/32/64, int8/16/32/64, uint8 and bool, little- or big-endian (converted
// to native order on load). Wider unsigned integers, complex numbers, strings, objects and
// structured dtypes are rejected, as is anything in a header or archive that does not fit the
// format; every error names the file (and the archive entry) and what was expected.
#ifndef QREPORT_CORE_DATA_NPY_H_
#define QREPORT_CORE_DATA_NPY_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "qreport/core/data/tensor_view.h"

namespace qreport {

// One array read from a file. Owns its bytes, in native byte order and in the file's layout
// (C or Fortran order). Moving an NpyArray keeps its bytes where they are, so views taken
// before a move stay valid while the moved-to array lives.
class NpyArray {
 public:
  // REQUIRES: shape.size() <= TensorView::kMaxDims, every dim >= 0, and
  // data.size() == product(shape) * ElementSize(dtype); throws Error(kInvalidArgument) if not.
  NpyArray(DType dtype, std::vector<int64_t> shape, bool fortran_order, std::vector<uint8_t> data);

  DType dtype() const { return dtype_; }
  // {} for a 0-d array (a scalar), which holds one element.
  const std::vector<int64_t>& shape() const { return shape_; }
  bool fortran_order() const { return fortran_order_; }
  int64_t numel() const { return numel_; }
  const void* data() const { return data_.data(); }
  // numel() * ElementSize(dtype()).
  size_t bytes() const { return data_.size(); }

  // A view of the bytes with the array's logical shape: contiguous strides for C order, the
  // matching column-major strides for Fortran order (no copy either way).
  TensorView view() const;

 private:
  DType dtype_;
  std::vector<int64_t> shape_;
  bool fortran_order_;
  int64_t numel_;
  std::vector<uint8_t> data_;
};

// Reads a .npy file (format versions 1.0, 2.0 and 3.0).
// Throws Error(kIo) if the file cannot be opened or read, Error(kBadData) if its content is
// not a supported .npy array; the message starts with `path`.
NpyArray ReadNpy(const std::string& path);

// Parses .npy bytes held in memory. Never reads outside [data, data + size); `source_name`
// starts every error message. Throws Error(kBadData) as ReadNpy does.
NpyArray ParseNpy(const void* data, size_t size, const std::string& source_name);

struct NamedArray {
  std::string name;  // the entry's name without ".npy"
  NpyArray array;
};

// Reads every array of a .npz archive (stored or deflate-compressed), in archive order.
// Throws Error(kIo) if the file cannot be opened or read, Error(kBadData) if it is not a zip
// archive, an entry is damaged, is not named *.npy or does not hold a supported array.
std::vector<NamedArray> ReadNpz(const std::string& path);

// Parses .npz bytes held in memory, as ReadNpz reads a file; `source_name` starts every error
// message. Throws Error(kBadData) as ReadNpz does.
std::vector<NamedArray> ParseNpz(const void* data, size_t size, const std::string& source_name);

// True when the file starts with a zip signature (what np.savez writes); false otherwise,
// including when it cannot be read. Never throws.
bool LooksLikeNpz(const std::string& path);

}  // namespace qreport

#endif  // QREPORT_CORE_DATA_NPY_H_
