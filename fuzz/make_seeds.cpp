// Seeds that only qreport's own writers make: state files (ObserverBank::Save) and report.json
// (ReportToJson), so the fuzzers start from inputs in exactly the shape the readers expect.
// fuzz/make_corpus.py writes the NumPy, TorchScript and text seeds.
//
//   qreport_fuzz_seeds OUT_DIR   # writes OUT_DIR/state/*.qstate and OUT_DIR/report/*.json
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <vector>

#include "qreport/core/detect/report.h"
#include "qreport/core/error.h"
#include "qreport/core/observe/observer_bank.h"
#include "testing/sample_report.h"

namespace qreport {
namespace {

namespace fs = std::filesystem;

void WriteText(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  QREPORT_CHECK_KIND(out.good(), ErrorKind::kIo, "{}: cannot write", path.string());
}

void WriteStates(const fs::path& dir) {
  fs::create_directories(dir);
  ObserverOptions range_only;
  range_only.statistics = kRangeStatistics;
  ObserverOptions percentile;
  percentile.comp_percentile = 0.975f;
  const std::vector<PointRequest> points = {
      {{"fc1", ObservationPosition::kPre}, {}},
      {{"fc1", ObservationPosition::kPost}, range_only},
      {{"body.0.conv", ObservationPosition::kPre}, percentile},
  };
  ObserverBank empty({"0123abcd", "model.pt"}, points);
  empty.Save((dir / "empty.qstate").string());

  ObserverBank bank({"0123abcd", "model.pt"}, points);
  std::vector<float> values(2 * 3 * 4);
  for (size_t i = 0; i < values.size(); ++i) values[i] = std::sin(static_cast<float>(i)) * 3;
  values[5] = std::numeric_limits<float>::infinity();
  const TensorView view = TensorView::Contiguous(values.data(), {2, 3, 4});
  for (size_t slot = 0; slot < bank.size(); ++slot) {
    bank.Observe(slot, view);
    bank.Observe(slot, TensorView::Contiguous(values.data(), {4, 6}));
  }
  bank.AddBatches(2);
  bank.Save((dir / "calibrated.qstate").string());

  ObserverBank one({"ff", ""}, {{{"", ObservationPosition::kPost}, range_only}});
  one.Observe(0, view);
  one.AddBatches(1);
  one.Save((dir / "one_point.qstate").string());
}

// The renderers' sample (tests/testing/), and a variant with a NaN and an unknown thread count.
Report SampleReport(bool with_problems) {
  Report report = testing::SampleReport();
  report.threads = with_problems ? 0 : 2;
  if (with_problems) {
    std::get<DynamicStaticFinding>(report.detectors[1].findings[0]).output_ratio = std::nan("");
  }
  return report;
}

void WriteReports(const fs::path& dir) {
  fs::create_directories(dir);
  WriteText(dir / "report.json", ReportToJson(SampleReport(false)).dump(2));
  WriteText(dir / "report_compact.json", ReportToJson(SampleReport(true)).dump());
  Report empty;
  empty.model_path = "empty.pt";
  WriteText(dir / "report_empty.json", ReportToJson(empty).dump());
}

}  // namespace
}  // namespace qreport

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: qreport_fuzz_seeds OUT_DIR\n";
    return 2;
  }
  try {
    const std::filesystem::path out = argv[1];
    qreport::WriteStates(out / "state");
    qreport::WriteReports(out / "report");
  } catch (const std::exception& e) {
    std::cerr << "qreport_fuzz_seeds: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
