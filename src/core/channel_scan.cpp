#include "channel_scan.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

namespace qreport::internal {
namespace {

// Below this many elements a batch is processed on one thread: starting threads costs more.
constexpr int64_t kParallelThreshold = 1 << 15;

struct ReadF32 {
  using T = float;
  static float Get(T v) { return v; }
};
struct ReadF64 {
  using T = double;
  static float Get(T v) { return static_cast<float>(v); }
};
struct ReadF16 {
  using T = uint16_t;
  static float Get(T v) { return HalfToFloat(v); }
};
struct ReadBF16 {
  using T = uint16_t;
  static float Get(T v) { return BFloat16ToFloat(v); }
};
template <typename I>
struct ReadInt {
  using T = I;
  static float Get(T v) { return static_cast<float>(v); }
};

// Calls f(pointer, count, stride) for every innermost row of channel `c`.
template <typename T, typename F>
void ForEachRow(const TensorView& view, const Layout& layout, int64_t c, F&& f) {
  const T* base = static_cast<const T*>(view.data()) + c * layout.channel_stride;
  if (layout.other_dims == 0) {
    f(base, int64_t{1}, int64_t{1});
    return;
  }
  const int inner = layout.other_dims - 1;
  const int64_t inner_size = layout.other_sizes[inner];
  const int64_t inner_stride = layout.other_strides[inner];
  int64_t index[TensorView::kMaxDims] = {};
  int64_t offset = 0;
  while (true) {
    f(base + offset, inner_size, inner_stride);
    int d = inner - 1;
    for (; d >= 0; --d) {
      offset += layout.other_strides[d];
      if (++index[d] < layout.other_sizes[d]) break;
      offset -= index[d] * layout.other_strides[d];
      index[d] = 0;
    }
    if (d < 0) return;
  }
}

bool InnerContiguous(const Layout& layout) {
  return layout.other_dims == 0 || layout.other_strides[layout.other_dims - 1] == 1 ||
         layout.other_sizes[layout.other_dims - 1] == 1;
}

// Channel `c` as float runs: in place for float32 with a contiguous innermost dimension,
// otherwise converted into `buffer` (per_channel floats) as one run.
template <typename Reader>
void RunsOf(const TensorView& view, const Layout& layout, int64_t c, float* buffer,
            std::vector<FloatRun>& runs) {
  using T = typename Reader::T;
  runs.clear();
  if (std::is_same_v<Reader, ReadF32> && InnerContiguous(layout)) {
    ForEachRow<T>(view, layout, c, [&](const T* p, int64_t n, int64_t) {
      if (!runs.empty() &&
          runs.back().data + runs.back().size == reinterpret_cast<const float*>(p)) {
        runs.back().size += n;  // rows that follow each other in memory make one run
      } else {
        runs.push_back({reinterpret_cast<const float*>(p), n});
      }
    });
    return;
  }
  float* out = buffer;
  ForEachRow<T>(view, layout, c, [&](const T* p, int64_t n, int64_t stride) {
    for (int64_t i = 0; i < n; ++i) *out++ = Reader::Get(p[i * stride]);
  });
  runs.push_back({buffer, layout.per_channel});
}

template <typename Reader>
void ScanChannelsAs(const TensorView& view, const Layout& layout, bool percentile, float q,
                    std::vector<ChannelSummary>& out, float* hints) {
  const int64_t channels = layout.channels;
  const bool parallel = view.numel() >= kParallelThreshold && channels > 1;
#pragma omp parallel if (parallel)
  {
    // Kept by each thread across calls: buffers allocated afresh for every activation came
    // from new mappings, and the kernel zeroing their pages took an eighth of the observers'
    // time. Only memory is reused; nothing in it outlives a channel.
    thread_local SelectScratch scratch;
    std::vector<FloatRun> runs;
#pragma omp for schedule(dynamic, 1)
    for (int64_t c = 0; c < channels; ++c) {
      RunsOf<Reader>(view, layout, c, scratch.Channel(layout.per_channel), runs);
      float* hint = hints != nullptr ? hints + c * kSelectHintSize : nullptr;
      out[static_cast<size_t>(c)] =
          SummarizeChannel(runs, percentile ? q : 0.0f, scratch, {}, nullptr, hint);
    }
  }
}

// Min and max per channel of a contiguous float32 tensor whose channels are made of many
// short runs (a weight's input-channel axis: runs of kh*kw values, or of one), read once in
// memory order. False, with `out` unspecified, if a value is not finite: the per-channel
// path then leaves those out of min and max.
bool SweepMinMax(const float* data, int64_t outer, int64_t channels, int64_t inner,
                 std::vector<ChannelSummary>& out) {
  const auto n = static_cast<size_t>(channels);
  std::vector<float> low(n, std::numeric_limits<float>::infinity());
  std::vector<float> high(n, -std::numeric_limits<float>::infinity());
  // v - v is 0 for a finite value and NaN otherwise; summed per channel, a NaN stays (unlike
  // a compare into one flag, this keeps the loop across channels vectorisable).
  std::vector<float> poison(n, 0.0f);
  for (int64_t o = 0; o < outer; ++o) {
    const float* block = data + o * channels * inner;
    if (inner == 1) {  // across channels: vectorises
      for (size_t c = 0; c < n; ++c) {
        const float v = block[c];
        low[c] = v < low[c] ? v : low[c];
        high[c] = v > high[c] ? v : high[c];
        poison[c] += v - v;
      }
      continue;
    }
    for (size_t c = 0; c < n; ++c) {
      const float* p = block + static_cast<int64_t>(c) * inner;
      float lo = low[c];
      float hi = high[c];
      float bad = poison[c];
      for (int64_t i = 0; i < inner; ++i) {
        lo = p[i] < lo ? p[i] : lo;
        hi = p[i] > hi ? p[i] : hi;
        bad += p[i] - p[i];
      }
      low[c] = lo;
      high[c] = hi;
      poison[c] = bad;
    }
  }
  for (size_t c = 0; c < n; ++c) {
    if (std::isnan(poison[c])) return false;
  }
  for (size_t c = 0; c < n; ++c) out[c] = {low[c], high[c], outer * inner, 0, 0.0f};
  return true;
}

// Runs shorter than this make walking a channel at a time slow.
constexpr int64_t kShortRun = 64;

}  // namespace

Layout MakeLayout(const TensorView& view, int channel_axis) {
  Layout layout;
  const int axis = channel_axis < 0 ? channel_axis + view.dim() : channel_axis;
  layout.has_axis = axis >= 0 && axis < view.dim();
  for (int d = 0; d < view.dim(); ++d) {
    if (layout.has_axis && d == axis) {
      layout.channels = view.size(d);
      layout.channel_stride = view.stride(d);
      continue;
    }
    layout.per_channel *= view.size(d);
    if (view.size(d) == 1) continue;  // walking it changes nothing
    const int last = layout.other_dims - 1;
    if (last >= 0 && layout.other_strides[last] == view.size(d) * view.stride(d)) {
      // It continues the previous dimension in memory: an NCHW channel is N runs of H*W
      // values, not N*H rows of W to walk and join.
      layout.other_sizes[last] *= view.size(d);
      layout.other_strides[last] = view.stride(d);
      continue;
    }
    layout.other_sizes[layout.other_dims] = view.size(d);
    layout.other_strides[layout.other_dims] = view.stride(d);
    ++layout.other_dims;
  }
  return layout;
}

void ScanChannels(const TensorView& view, const Layout& layout, bool percentile, float q,
                  std::vector<ChannelSummary>& out, float* hints) {
  if (!percentile && layout.has_axis && view.dtype() == DType::kFloat32 && view.is_contiguous() &&
      layout.channel_stride < kShortRun && layout.channels > 1 && view.numel() > 0) {
    const int64_t inner = layout.channel_stride;
    const int64_t outer = view.numel() / (layout.channels * inner);
    if (SweepMinMax(static_cast<const float*>(view.data()), outer, layout.channels, inner, out)) {
      return;
    }
  }
  switch (view.dtype()) {
    case DType::kFloat32:
      return ScanChannelsAs<ReadF32>(view, layout, percentile, q, out, hints);
    case DType::kFloat64:
      return ScanChannelsAs<ReadF64>(view, layout, percentile, q, out, hints);
    case DType::kFloat16:
      return ScanChannelsAs<ReadF16>(view, layout, percentile, q, out, hints);
    case DType::kBFloat16:
      return ScanChannelsAs<ReadBF16>(view, layout, percentile, q, out, hints);
    case DType::kInt64:
      return ScanChannelsAs<ReadInt<int64_t>>(view, layout, percentile, q, out, hints);
    case DType::kInt32:
      return ScanChannelsAs<ReadInt<int32_t>>(view, layout, percentile, q, out, hints);
    case DType::kInt16:
      return ScanChannelsAs<ReadInt<int16_t>>(view, layout, percentile, q, out, hints);
    case DType::kInt8:
      return ScanChannelsAs<ReadInt<int8_t>>(view, layout, percentile, q, out, hints);
    case DType::kUInt8:
    case DType::kBool:
      return ScanChannelsAs<ReadInt<uint8_t>>(view, layout, percentile, q, out, hints);
  }
}

}  // namespace qreport::internal
