// The deprecated headers at qreport/core/*.h still compile on their own and declare what
// their new homes do, so code written against 0.1.0's include paths keeps building.
// (tests/layout/check_dependencies.cmake checks that each forwards to a header that exists.)
#include "qreport/core/detector.h"
#include "qreport/core/findings.h"
#include "qreport/core/html_report.h"
#include "qreport/core/inventory.h"
#include "qreport/core/layer.h"
#include "qreport/core/model_description.h"
#include "qreport/core/module_types.h"
#include "qreport/core/npy.h"
#include "qreport/core/observer.h"
#include "qreport/core/observer_bank.h"
#include "qreport/core/qconfig.h"
#include "qreport/core/report.h"
#include "qreport/core/tensor_view.h"
#include "qreport/core/text_table.h"
#include "qreport/core/visualizer.h"

#include <type_traits>

#include <gtest/gtest.h>

namespace qreport {
namespace {

template <typename... T>
constexpr bool kComplete = (... && (sizeof(T) > 0));

TEST(ForwardingHeadersTest, OldPathsDeclareTheSameTypes) {
  static_assert(kComplete<NpyArray, TensorView, QConfig, QConfigMapping, CallSite, ModelDescription,
                          ModuleTypeInfo, ObserverOptions, PointKey, Report, PerChannelFinding,
                          ReportDocuments, LayerInventory, TextTable, TensorTable>);
  static_assert(std::is_abstract_v<Detector>);
  const QConfigMapping mapping;
  EXPECT_TRUE(mapping.empty());
}

}  // namespace
}  // namespace qreport
