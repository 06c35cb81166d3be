#include "observe/channel_scan.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

#include "observe/select_passes.h"
#include "observe/vector_clones.h"

#ifdef QREPORT_X86_VERSIONS
#include <immintrin.h>
#endif

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

// Channels adjacent in memory whose own values are strided: the last axis of a Linear
// layer's [batch, length, features] input. Gathered one at a time, every value read costs a
// cache line, fetched again for each channel it holds. A block of neighbours is gathered in
// one walk over the rows instead, each line read once. In the block, channel l starts at
// l * pitch, a pitch 16 floats past a multiple of 16: at a power of two (1024 values) every
// channel's next value maps to the same L1 set, and the gather ran 7 times slower.
constexpr int64_t kBlockBytes = int64_t{2} << 20;
constexpr int64_t kMaxBlock = 32;
constexpr int64_t kPrefetchRows = 32;

bool ChannelsInterleaved(const Layout& layout) {
  return layout.channel_stride == 1 && layout.channels > 1 && !InnerContiguous(layout);
}

int64_t BlockPitch(const Layout& layout) { return (layout.per_channel + 15) / 16 * 16 + 16; }

int64_t BlockWidth(const Layout& layout) {
  const int64_t fits = kBlockBytes / (static_cast<int64_t>(sizeof(float)) * BlockPitch(layout));
  return std::clamp<int64_t>(fits, 1, kMaxBlock);
}

// Channels first .. first + width - 1, each into `out` + lane * pitch as float.
template <typename Reader>
void GatherBlock(const TensorView& view, const Layout& layout, int64_t first, int64_t width,
                 int64_t pitch, float* out) {
  using T = typename Reader::T;
  int64_t done = 0;
  ForEachRow<T>(view, layout, first, [&](const T* p, int64_t n, int64_t stride) {
    for (int64_t i = 0; i < n; ++i) {
      const T* values = p + i * stride;
      // Rows a page apart defeat the hardware prefetcher: ask for the rows ahead by hand.
      const char* ahead = reinterpret_cast<const char*>(values + kPrefetchRows * stride);
      for (int64_t byte = 0; byte < width * static_cast<int64_t>(sizeof(T)); byte += 64) {
        __builtin_prefetch(ahead + byte);
      }
      float* to = out + done + i;
      for (int64_t l = 0; l < width; ++l) to[l * pitch] = Reader::Get(values[l]);
    }
    done += n;
  });
}

template <typename Reader>
void ScanInterleavedAs(const TensorView& view, const Layout& layout, bool percentile, float q,
                       std::vector<ChannelSummary>& out, float* hints) {
  const int64_t channels = layout.channels;
  const int64_t pitch = BlockPitch(layout);
  const int64_t block_width = BlockWidth(layout);
  const int64_t blocks = (channels + block_width - 1) / block_width;
  const bool parallel = view.numel() >= kParallelThreshold && blocks > 1;
#pragma omp parallel if (parallel)
  {
    thread_local SelectScratch scratch;
    std::vector<FloatRun> runs(1);
#pragma omp for schedule(dynamic, 1)
    for (int64_t b = 0; b < blocks; ++b) {
      const int64_t first = b * block_width;
      const int64_t width = std::min(block_width, channels - first);
      float* block = scratch.Block(width * pitch);
      GatherBlock<Reader>(view, layout, first, width, pitch, block);
      for (int64_t l = 0; l < width; ++l) {
        const int64_t c = first + l;
        runs[0] = {block + l * pitch, layout.per_channel};
        float* hint = hints != nullptr ? hints + c * kSelectHintSize : nullptr;
        out[static_cast<size_t>(c)] =
            SummarizeChannel(runs, percentile ? q : 0.0f, scratch, {}, nullptr, hint);
      }
    }
  }
}

// The part [from, to) of the values the runs hold, in order, as runs.
void SliceRuns(const std::vector<FloatRun>& runs, int64_t from, int64_t to,
               std::vector<FloatRun>& out) {
  out.clear();
  int64_t start = 0;
  for (const FloatRun& run : runs) {
    const int64_t lo = std::max(from, start);
    const int64_t hi = std::min(to, start + run.size);
    if (lo < hi) out.push_back({run.data + (lo - start), hi - lo});
    start += run.size;
    if (start >= to) break;
  }
}

// The range of one float32 channel read in place (a per-tensor range) split across the
// threads. Left to one thread, a large activation's range was read while torch's other
// worker waited: mobilenet_v2's per-tensor ranges (dynamic_static alone) added 13-31 ms a
// batch at two threads in three runs, 13 at one; 11 at two, split.
// False where a value is not finite: the caller's path counts those.
bool SplitRange(const TensorView& view, const Layout& layout, ChannelSummary& out) {
  std::vector<FloatRun> runs;
  RunsOf<ReadF32>(view, layout, 0, nullptr, runs);
  const int64_t total = layout.per_channel;
  const int64_t pieces = std::min<int64_t>(total / kParallelThreshold, 16);
  float low = std::numeric_limits<float>::infinity();
  float high = -std::numeric_limits<float>::infinity();
  bool nonfinite = false;
  // clang-format off
#pragma omp parallel for schedule(static) reduction(min : low) reduction(max : high) \
    reduction(|| : nonfinite)
  // clang-format on
  for (int64_t p = 0; p < pieces; ++p) {
    std::vector<FloatRun> slice;
    SliceRuns(runs, total * p / pieces, total * (p + 1) / pieces, slice);
    PassResult pass;
    ScanMinMax(slice.data(), slice.size(), &pass);
    low = std::min(low, pass.min);
    high = std::max(high, pass.max);
    nonfinite = nonfinite || pass.nonfinite;
  }
  if (nonfinite) return false;
  out = {low, high, total, 0, 0.0f};
  return true;
}

template <typename Reader>
void ScanChannelsAs(const TensorView& view, const Layout& layout, bool percentile, float q,
                    std::vector<ChannelSummary>& out, float* hints) {
  const int64_t channels = layout.channels;
  if (ChannelsInterleaved(layout)) {
    return ScanInterleavedAs<Reader>(view, layout, percentile, q, out, hints);
  }
  if constexpr (std::is_same_v<Reader, ReadF32>) {
    if (channels == 1 && !percentile && InnerContiguous(layout) &&
        layout.per_channel >= 2 * kParallelThreshold && SplitRange(view, layout, out[0])) {
      return;
    }
  }
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

// Min and max per channel of `rows` rows of `channels` adjacent float32 values, folded into
// low/high; `poison` becomes NaN for a channel that has a non-finite value (v - v is 0 for
// a finite value, NaN otherwise; summed per channel, unlike a compare into one flag, it
// keeps the loop vectorisable). Four rows are folded per pass over the accumulators, which
// would otherwise be loaded and stored once per value read. Among equal values the earliest
// row's is kept (-0 and +0 compare equal), as the one-row-at-a-time loop did.
inline __attribute__((always_inline)) void SweepAcrossChannels(const float* data, int64_t rows,
                                                               int64_t channels,
                                                               float* __restrict__ low,
                                                               float* __restrict__ high,
                                                               float* __restrict__ poison) {
  int64_t r = 0;
  for (; r + 4 <= rows; r += 4) {
    const float* __restrict__ a = data + r * channels;
    const float* __restrict__ b = a + channels;
    const float* __restrict__ c = b + channels;
    const float* __restrict__ d = c + channels;
    for (int64_t i = 0; i < channels; ++i) {
      const float ab_lo = b[i] < a[i] ? b[i] : a[i];
      const float cd_lo = d[i] < c[i] ? d[i] : c[i];
      const float lo = cd_lo < ab_lo ? cd_lo : ab_lo;
      const float ab_hi = b[i] > a[i] ? b[i] : a[i];
      const float cd_hi = d[i] > c[i] ? d[i] : c[i];
      const float hi = cd_hi > ab_hi ? cd_hi : ab_hi;
      low[i] = lo < low[i] ? lo : low[i];
      high[i] = hi > high[i] ? hi : high[i];
      poison[i] += ((a[i] - a[i]) + (b[i] - b[i])) + ((c[i] - c[i]) + (d[i] - d[i]));
    }
  }
  for (; r < rows; ++r) {
    const float* __restrict__ a = data + r * channels;
    for (int64_t i = 0; i < channels; ++i) {
      low[i] = a[i] < low[i] ? a[i] : low[i];
      high[i] = a[i] > high[i] ? a[i] : high[i];
      poison[i] += a[i] - a[i];
    }
  }
}

// Min and max per channel of a contiguous float32 tensor whose channels are made of many
// short runs (a weight's input-channel axis: runs of kh*kw values, or of one), read once in
// memory order. False, with `out` unspecified, if a value is not finite: the per-channel
// path then leaves those out of min and max.
QREPORT_VECTOR_CLONES
bool SweepMinMax(const float* data, int64_t outer, int64_t channels, int64_t inner,
                 std::vector<ChannelSummary>& out) {
  const auto n = static_cast<size_t>(channels);
  std::vector<float> low(n, std::numeric_limits<float>::infinity());
  std::vector<float> high(n, -std::numeric_limits<float>::infinity());
  std::vector<float> poison(n, 0.0f);
  if (inner == 1) {
    SweepAcrossChannels(data, outer, channels, low.data(), high.data(), poison.data());
  } else {
    for (int64_t o = 0; o < outer; ++o) {
      const float* block = data + o * channels * inner;
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
  }
  for (size_t c = 0; c < n; ++c) {
    if (std::isnan(poison[c])) return false;
  }
  for (size_t c = 0; c < n; ++c) out[c] = {low[c], high[c], outer * inner, 0, 0.0f};
  return true;
}

// Runs shorter than this make walking a channel at a time slow.
constexpr int64_t kShortRun = 64;

// Channels side by side in the sweep below: one AVX-512 vector, two AVX2 ones.
constexpr int kSweepLanes = 16;

// For W channels of a rows x channels matrix (`column` points at the first, rows are
// `stride` floats apart): min, max and the comp quantile, the m-th of the M largest (kTop)
// or smallest values, a sorted list every value is inserted into. Rows are
// read in memory order and each channel's state stays in registers, where gathering a
// channel whose values are a row apart and selecting in it cost ~150 ns per channel.
// Returns false, with `out` unspecified, if a value is not finite.
template <bool kTop, int M, int W>
inline __attribute__((always_inline)) bool SweepColumns(const float* column, int64_t rows,
                                                        int64_t stride, int64_t m,
                                                        ChannelSummary* out) {
  constexpr float kInf = std::numeric_limits<float>::infinity();
  float low[W], high[W], poison[W], kept[M][W];
  for (int l = 0; l < W; ++l) {
    low[l] = kInf;
    high[l] = -kInf;
    poison[l] = 0.0f;
    for (int j = 0; j < M; ++j) kept[j][l] = kTop ? -kInf : kInf;
  }
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = column + r * stride;
    for (int l = 0; l < W; ++l) {
      float v = row[l];
      low[l] = v < low[l] ? v : low[l];
      high[l] = v > high[l] ? v : high[l];
      poison[l] += v - v;  // NaN from here on if v is not finite
      for (int j = 0; j < M; ++j) {
        // Written as a min and a max each (no shared condition), which compile to one
        // instruction each; a shared condition became masked stores behind branches.
        const float k = kept[j][l];
        if (kTop) {
          kept[j][l] = k > v ? k : v;
          v = k > v ? v : k;
        } else {
          kept[j][l] = k < v ? k : v;
          v = k < v ? v : k;
        }
      }
    }
  }
  for (int l = 0; l < W; ++l) {
    if (std::isnan(poison[l])) return false;
    // + 0: -0 as +0, as the per-channel search answers.
    out[l] = {low[l], high[l], rows, 0, kept[m - 1][l] + 0.0f};
  }
  return true;
}

#ifdef QREPORT_X86_VERSIONS
// GCC 12's AVX-512 min/max intrinsics pass _mm512_undefined_ps() as the unused merge
// source, which its own uninitialised-use analysis then reports.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

// SweepColumns for sixteen channels, written out for AVX-512: GCC left the kept values of
// the generic loop in memory, behind masked stores and branches, at half this speed.
template <bool kTop, int M>
__attribute__((target("avx512f"))) bool SweepColumnsAvx512(const float* column, int64_t rows,
                                                           int64_t stride, int64_t m,
                                                           ChannelSummary* out) {
  constexpr float kInf = std::numeric_limits<float>::infinity();
  __m512 low = _mm512_set1_ps(kInf);
  __m512 high = _mm512_set1_ps(-kInf);
  __m512 poison = _mm512_setzero_ps();
  __m512 kept[M];
#pragma GCC unroll 16
  for (int j = 0; j < M; ++j) kept[j] = _mm512_set1_ps(kTop ? -kInf : kInf);
  for (int64_t r = 0; r < rows; ++r) {
    __m512 v = _mm512_loadu_ps(column + r * stride);
    low = _mm512_min_ps(low, v);
    high = _mm512_max_ps(high, v);
    poison = _mm512_add_ps(poison, _mm512_sub_ps(v, v));
#pragma GCC unroll 16
    for (int j = 0; j < M; ++j) {
      const __m512 k = kept[j];
      kept[j] = kTop ? _mm512_max_ps(k, v) : _mm512_min_ps(k, v);
      v = kTop ? _mm512_min_ps(k, v) : _mm512_max_ps(k, v);
    }
  }
  alignas(64) float lows[kSweepLanes], highs[kSweepLanes], poisons[kSweepLanes],
      answers[kSweepLanes];
  _mm512_store_ps(lows, low);
  _mm512_store_ps(highs, high);
  _mm512_store_ps(poisons, poison);
  __m512 answer = kept[0];
#pragma GCC unroll 16
  for (int j = 1; j < M; ++j) answer = j == m - 1 ? kept[j] : answer;
  _mm512_store_ps(answers, answer);
  for (int l = 0; l < kSweepLanes; ++l) {
    if (std::isnan(poisons[l])) return false;
    out[l] = {lows[l], highs[l], rows, 0, answers[l] + 0.0f};
  }
  return true;
}
#pragma GCC diagnostic pop
#endif

template <bool kTop, int M>
inline __attribute__((always_inline)) bool SweepBlockAs(const float* column, int64_t rows,
                                                        int64_t stride, int lanes, int64_t m,
                                                        bool avx512, ChannelSummary* out) {
  if (lanes == kSweepLanes) {
#ifdef QREPORT_X86_VERSIONS
    if (avx512) return SweepColumnsAvx512<kTop, M>(column, rows, stride, m, out);
#endif
    return SweepColumns<kTop, M, kSweepLanes>(column, rows, stride, m, out);
  }
  for (int l = 0; l < lanes; ++l) {
    if (!SweepColumns<kTop, M, 1>(column + l, rows, stride, m, out + l)) return false;
  }
  return true;
}

// The most values the sweep keeps per channel: inserting costs two operations per kept
// value, per value read.
constexpr int64_t kMaxKept = 16;

// One block of up to kSweepLanes channels; `m` values kept (m <= kMaxKept), in a buffer
// rounded up to a power of two so that few variants are compiled.
QREPORT_VECTOR_CLONES
bool SweepBlock(const float* column, int64_t rows, int64_t stride, int lanes, bool top, int64_t m,
                bool avx512, ChannelSummary* out) {
  if (m <= 2) {
    return top ? SweepBlockAs<true, 2>(column, rows, stride, lanes, m, avx512, out)
               : SweepBlockAs<false, 2>(column, rows, stride, lanes, m, avx512, out);
  }
  if (m <= 4) {
    return top ? SweepBlockAs<true, 4>(column, rows, stride, lanes, m, avx512, out)
               : SweepBlockAs<false, 4>(column, rows, stride, lanes, m, avx512, out);
  }
  if (m <= 8) {
    return top ? SweepBlockAs<true, 8>(column, rows, stride, lanes, m, avx512, out)
               : SweepBlockAs<false, 8>(column, rows, stride, lanes, m, avx512, out);
  }
  return top ? SweepBlockAs<true, kMaxKept>(column, rows, stride, lanes, m, avx512, out)
             : SweepBlockAs<false, kMaxKept>(column, rows, stride, lanes, m, avx512, out);
}

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

namespace {
bool CpuHasAvx512() {
#ifdef QREPORT_X86_VERSIONS
  return __builtin_cpu_supports("avx512f");
#else
  return false;
#endif
}
}  // namespace

bool SweepRows(const float* data, int64_t rows, int64_t channels, float q, bool avx512,
               std::vector<ChannelSummary>& out) {
  if (rows < 2 || !(q > 0.0f && q < 1.0f)) return false;
  const int64_t k = LowerQuantileIndex(q, rows);
  const bool top = rows - k <= k + 1;
  const int64_t m = top ? rows - k : k + 1;
  if (m > kMaxKept) return false;
  avx512 = avx512 && CpuHasAvx512();
  const int64_t blocks = (channels + kSweepLanes - 1) / kSweepLanes;
  bool finite = true;
#pragma omp parallel for schedule(static) if (rows * channels >= kParallelThreshold) \
    reduction(&& : finite)
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t first = b * kSweepLanes;
    const int lanes = static_cast<int>(std::min<int64_t>(kSweepLanes, channels - first));
    finite = SweepBlock(data + first, rows, channels, lanes, top, m, avx512, out.data() + first) &&
             finite;
  }
  return finite;
}

void ScanChannels(const TensorView& view, const Layout& layout, bool percentile, float q,
                  std::vector<ChannelSummary>& out, float* hints) {
  // Channels side by side in memory (short runs): swept across channels in memory order.
  const bool swept = layout.has_axis && view.dtype() == DType::kFloat32 && view.is_contiguous() &&
                     layout.channels > 1 && view.numel() > 0;
  const auto* data = static_cast<const float*>(view.data());
  if (swept && !percentile && layout.channel_stride < kShortRun) {
    const int64_t inner = layout.channel_stride;
    if (SweepMinMax(data, view.numel() / (layout.channels * inner), layout.channels, inner, out)) {
      return;
    }
  }
  if (swept && percentile && layout.channel_stride == 1 &&
      SweepRows(data, view.numel() / layout.channels, layout.channels, q, /*avx512=*/true, out)) {
    return;
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
