// A small report with one finding of each detector (a per-channel layer, a dynamic/static
// layer, an equalization layer with two channels, an outlier module with a dead channel),
// for tests of the renderers and for the fuzzers' report.json seeds.
#ifndef QREPORT_TESTS_TESTING_SAMPLE_REPORT_H_
#define QREPORT_TESTS_TESTING_SAMPLE_REPORT_H_

#include "qreport/core/detect/report.h"

namespace qreport::testing {

Report SampleReport();

}  // namespace qreport::testing

#endif  // QREPORT_TESTS_TESTING_SAMPLE_REPORT_H_
