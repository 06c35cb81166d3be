// Charts as standalone SVG documents: no script, no external resources, readable in any
// browser or image viewer. The visualizer decides what to draw; these only draw it.
#ifndef QREPORT_SRC_CORE_RENDER_SVG_PLOT_H_
#define QREPORT_SRC_CORE_RENDER_SVG_PLOT_H_

#include <cstdint>
#include <string>
#include <vector>

namespace qreport::internal {

struct PlotSeries {
  std::string name;            // the legend's entry
  std::vector<double> values;  // y at x = 0, 1, ...; non-finite values leave a gap
};

struct LinePlot {
  std::string title;
  std::string x_label;
  std::string y_label;
  std::vector<std::string> x_names;  // names of x = 0, 1, ... (modules); empty: numbers
  std::vector<PlotSeries> series;
};

// REQUIRES: at least one series.
std::string RenderLinePlotSvg(const LinePlot& plot);

struct HistogramPlot {
  std::string title;
  std::string x_label;
  std::vector<double> edges;    // bins + 1 ascending bin edges
  std::vector<int64_t> counts;  // values per bin
};

// REQUIRES: edges.size() == counts.size() + 1 >= 2.
std::string RenderHistogramSvg(const HistogramPlot& plot);

}  // namespace qreport::internal

#endif  // QREPORT_SRC_CORE_RENDER_SVG_PLOT_H_
