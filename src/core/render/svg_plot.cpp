#include "render/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "qreport/core/error.h"

namespace qreport::internal {
namespace {

constexpr double kWidth = 760, kHeight = 380;
constexpr double kLeft = 72, kRight = 24, kTop = 44, kBottom = 64;
constexpr size_t kMaxLegend = 8;
constexpr size_t kMaxXNames = 24;   // beyond this, every k-th name is written
constexpr size_t kMaxMarkers = 64;  // points are also marked on short lines
const char* const kPalette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

std::string Escape(const std::string& text) {
  std::string out;
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// An axis from `lo` to `hi` with about five ticks at 1, 2 or 5 times a power of ten.
// REQUIRES: lo and hi finite (FiniteRange).
struct Axis {
  static constexpr int kMaxTicks = 20;  // Nice gives at most 7
  double lo = 0, hi = 1, step = 0.2;

  static Axis Nice(double lo, double hi) {
    constexpr double kMax = std::numeric_limits<double>::max();
    if (!(lo < hi)) {
      const double pad = lo == 0 ? 1 : std::fabs(lo) * 0.1;
      lo = std::max(lo - pad, -kMax);
      hi = std::min(hi + pad, kMax);
    }
    // In halves: hi - lo overflows to infinity for values near +-DBL_MAX.
    const double rough = (hi / 2 - lo / 2) / 2.5;
    const double power = std::pow(10, std::floor(std::log10(rough)));
    double step = power;
    for (const double m : {1.0, 2.0, 5.0, 10.0}) {
      step = m * power;
      if (step >= rough) break;
    }
    // Rounding outwards to a step can pass DBL_MAX; then the data's own end is the axis's.
    const double nice_lo = std::floor(lo / step) * step, nice_hi = std::ceil(hi / step) * step;
    return {std::isfinite(nice_lo) ? nice_lo : lo, std::isfinite(nice_hi) ? nice_hi : hi, step};
  }

  std::vector<double> Ticks() const {
    // lo + i * step rather than t += step: a step below the spacing of doubles at lo (the range
    // of 1e20 and its neighbour) would never move t.
    std::vector<double> ticks;
    for (int i = 0; i <= kMaxTicks; ++i) {
      const double t = lo + step * i;
      if (!(t <= hi + step * 1e-6)) break;
      ticks.push_back(std::fabs(t) < step * 1e-9 ? 0 : t);
    }
    return ticks;
  }

  // Where `value` lies from lo (0) to hi (1), in halves as in Nice.
  double Fraction(double value) const { return (value / 2 - lo / 2) / (hi / 2 - lo / 2); }
};

std::string Tick(double value) { return fmt::format("{:.4g}", value); }

// The frame all charts share: title, axis labels, y ticks with grid lines, x axis.
class Canvas {
 public:
  Canvas(const std::string& title, const std::string& x_label, const std::string& y_label, Axis y)
      : y_(y) {
    svg_ = fmt::format(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 "
        "{0} {1}\" font-family=\"sans-serif\" font-size=\"12\">\n"
        "<rect width=\"{0}\" height=\"{1}\" fill=\"white\"/>\n"
        "<text x=\"{2}\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">{3}</text>\n"
        "<text x=\"{2}\" y=\"{4}\" text-anchor=\"middle\">{5}</text>\n"
        "<text transform=\"translate(16 {6}) rotate(-90)\" text-anchor=\"middle\">{7}</text>\n",
        kWidth, kHeight, kLeft + PlotWidth() / 2, Escape(title), kHeight - 8, Escape(x_label),
        kTop + PlotHeight() / 2, Escape(y_label));
    for (const double tick : y_.Ticks()) {
      const double at = Y(tick);
      svg_ += fmt::format(
          "<line x1=\"{0}\" x2=\"{1:.1f}\" y1=\"{2:.1f}\" y2=\"{2:.1f}\" stroke=\"#e4e4e4\"/>"
          "<text x=\"{3}\" y=\"{4:.1f}\" text-anchor=\"end\">{5}</text>\n",
          kLeft, kLeft + PlotWidth(), at, kLeft - 6, at + 4, Tick(tick));
    }
    svg_ += fmt::format(
        "<line x1=\"{0}\" x2=\"{1:.1f}\" y1=\"{2:.1f}\" y2=\"{2:.1f}\" stroke=\"#333\"/>\n", kLeft,
        kLeft + PlotWidth(), kTop + PlotHeight());
  }

  static double PlotWidth() { return kWidth - kLeft - kRight; }
  static double PlotHeight() { return kHeight - kTop - kBottom; }
  double Y(double value) const { return kTop + PlotHeight() * (1 - y_.Fraction(value)); }

  void XLabel(double x, const std::string& text, bool slanted) {
    const double y = kTop + PlotHeight() + 16;
    if (slanted) {
      svg_ += fmt::format(
          "<text transform=\"translate({:.1f} {:.1f}) rotate(-30)\" text-anchor=\"end\" "
          "font-size=\"10\">{}</text>\n",
          x, y - 4, Escape(text));
    } else {
      svg_ += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>\n", x,
                          y, Escape(text));
    }
  }

  void Append(const std::string& element) { svg_ += element; }
  std::string Finish() { return svg_ + "</svg>\n"; }

 private:
  Axis y_;
  std::string svg_;
};

std::pair<double, double> FiniteRange(const std::vector<PlotSeries>& series) {
  double lo = INFINITY, hi = -INFINITY;
  for (const PlotSeries& s : series) {
    for (const double v : s.values) {
      if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
    }
  }
  if (lo > hi) return {0, 1};
  return {lo, hi};
}

}  // namespace

std::string RenderLinePlotSvg(const LinePlot& plot) {
  QREPORT_ASSERT(!plot.series.empty(), "a line plot needs a series");
  size_t points = 0;
  for (const PlotSeries& s : plot.series) points = std::max(points, s.values.size());
  const auto [lo, hi] = FiniteRange(plot.series);
  Canvas canvas(plot.title, plot.x_label, plot.y_label, Axis::Nice(lo, hi));
  const double span = points > 1 ? static_cast<double>(points - 1) : 1;
  auto x_at = [&](size_t i) {
    return kLeft + Canvas::PlotWidth() * (points > 1 ? static_cast<double>(i) / span : 0.5);
  };

  if (!plot.x_names.empty()) {
    const size_t every = (plot.x_names.size() + kMaxXNames - 1) / kMaxXNames;
    for (size_t i = 0; i < plot.x_names.size(); i += every) {
      canvas.XLabel(x_at(i), plot.x_names[i], /*slanted=*/true);
    }
  } else {
    const Axis x = Axis::Nice(0, static_cast<double>(std::max<size_t>(points, 2) - 1));
    for (const double tick : x.Ticks()) {
      if (tick < 0 || tick > span) continue;
      canvas.XLabel(x_at(static_cast<size_t>(std::lround(tick))), Tick(tick), false);
    }
  }

  for (size_t s = 0; s < plot.series.size(); ++s) {
    const PlotSeries& series = plot.series[s];
    const char* color = kPalette[s % std::size(kPalette)];
    std::string path, markers;
    bool pen_down = false;
    for (size_t i = 0; i < series.values.size(); ++i) {
      const double v = series.values[i];
      if (!std::isfinite(v)) {
        pen_down = false;
        continue;
      }
      path += fmt::format("{}{:.1f} {:.1f}", pen_down ? " L" : " M", x_at(i), canvas.Y(v));
      pen_down = true;
      if (series.values.size() <= kMaxMarkers) {
        markers += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"2.5\" fill=\"{}\"/>",
                               x_at(i), canvas.Y(v), color);
      }
    }
    canvas.Append(
        fmt::format("<path d=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"1.5\"/>{}\n", path,
                    color, markers));
    if (plot.series.size() > 1 && s < kMaxLegend) {  // one line: the title names it
      const double y = kTop + 8 + 16 * static_cast<double>(s);
      canvas.Append(fmt::format(
          "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"12\" height=\"3\" fill=\"{}\"/>"
          "<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"11\">{}</text>\n",
          kWidth - kRight - 190, y - 4, color, kWidth - kRight - 172, y, Escape(series.name)));
    }
  }
  if (plot.series.size() > kMaxLegend) {
    canvas.Append(
        fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"11\">and {} more</text>\n",
                    kWidth - kRight - 172, kTop + 8 + 16 * static_cast<double>(kMaxLegend),
                    plot.series.size() - kMaxLegend));
  }
  return canvas.Finish();
}

std::string RenderHistogramSvg(const HistogramPlot& plot) {
  QREPORT_ASSERT(plot.counts.size() + 1 == plot.edges.size() && !plot.counts.empty(),
                 "{} bins need {} edges, got {}", plot.counts.size(), plot.counts.size() + 1,
                 plot.edges.size());
  const int64_t most = *std::max_element(plot.counts.begin(), plot.counts.end());
  Canvas canvas(plot.title, plot.x_label, "count", Axis::Nice(0, static_cast<double>(most)));
  const double lo = plot.edges.front(), hi = plot.edges.back();
  // In halves: the edges of values near +-DBL_MAX are further apart than DBL_MAX.
  const double half_range = hi > lo ? hi / 2 - lo / 2 : 0.5;
  auto x_at = [&](double v) { return kLeft + Canvas::PlotWidth() * (v / 2 - lo / 2) / half_range; };
  for (size_t b = 0; b < plot.counts.size(); ++b) {
    const double left = x_at(plot.edges[b]), right = x_at(plot.edges[b + 1]);
    const double top = canvas.Y(static_cast<double>(plot.counts[b]));
    const double gap = std::min(2.0, (right - left) * 0.1);
    canvas.Append(fmt::format(
        "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"{}\">"
        "<title>[{}, {}): {}</title></rect>\n",
        left + gap, top, std::max(0.5, right - left - 2 * gap), canvas.Y(0) - top, kPalette[0],
        Tick(plot.edges[b]), Tick(plot.edges[b + 1]), plot.counts[b]));
  }
  const size_t every = (plot.edges.size() + 11) / 12;
  for (size_t e = 0; e < plot.edges.size(); e += every) {
    canvas.XLabel(x_at(plot.edges[e]), Tick(plot.edges[e]), false);
  }
  return canvas.Finish();
}

}  // namespace qreport::internal
