// Private to the core: what one batch says about each channel of an activation, the work of
// ObserverState::Update. Values of any dtype are read as float32, as the reference converts
// them; float32 channels made of contiguous runs are read in place, others are gathered into
// a per-thread buffer first.
#ifndef QREPORT_SRC_CORE_OBSERVE_CHANNEL_SCAN_H_
#define QREPORT_SRC_CORE_OBSERVE_CHANNEL_SCAN_H_

#include <cstdint>
#include <vector>

#include "observe/quantile_select.h"
#include "qreport/core/data/tensor_view.h"

namespace qreport::internal {

// The tensor seen as channels x (all other elements). The other dimensions keep their
// order; the innermost one is walked by pointer increments.
struct Layout {
  bool has_axis = false;
  int64_t channels = 1;
  int64_t channel_stride = 0;
  int64_t per_channel = 1;
  int other_dims = 0;
  int64_t other_sizes[TensorView::kMaxDims] = {};
  int64_t other_strides[TensorView::kMaxDims] = {};
};

// `channel_axis` may be negative (from the end) or out of range: then the whole tensor is
// one channel and has_axis is false.
Layout MakeLayout(const TensorView& view, int channel_axis);

// Fills out[c] for every channel; the comp quantile (torch.quantile's "lower" interpolation
// at q, over the finite values) only if `percentile`, with `hints` (kSelectHintSize floats
// per channel, see SummarizeChannel) if not null. Parallel over channels for large tensors.
// REQUIRES: out.size() == layout.channels.
void ScanChannels(const TensorView& view, const Layout& layout, bool percentile, float q,
                  std::vector<ChannelSummary>& out, float* hints = nullptr);

// The path ScanChannels takes for a contiguous float32 [rows, channels] tensor (a Linear
// layer's activation) with a percentile: min, max and quantile of every channel from one
// sweep over the rows, keeping up to 16 of each channel's largest or smallest values. False, with
// `out` unspecified, where it does not apply: the quantile is not among those, or a value is
// not finite (the per-channel search leaves such values out). `avx512` asks for the AVX-512
// kernel where the CPU has it; the tests also run the generic one.
// REQUIRES: out.size() == channels.
bool SweepRows(const float* data, int64_t rows, int64_t channels, float q, bool avx512,
               std::vector<ChannelSummary>& out);

}  // namespace qreport::internal

#endif  // QREPORT_SRC_CORE_OBSERVE_CHANNEL_SCAN_H_
