#include "fuzz/replay.h"
#include "fuzz_targets.h"

namespace qreport::fuzz {
namespace {

class CoreFuzzRegressionTest : public testing::TestWithParam<Harness> {};

TEST_P(CoreFuzzRegressionTest, EveryInputIsReadOrRejectedWithAnError) { Replay(GetParam()); }

INSTANTIATE_TEST_SUITE_P(Readers, CoreFuzzRegressionTest,
                         testing::Values(Harness{"npy", NpyTarget}, Harness{"npz", NpzTarget},
                                         Harness{"state", StateTarget},
                                         Harness{"qconfig", QConfigTarget},
                                         Harness{"report", ReportTarget},
                                         Harness{"data_entry", DataEntryTarget}),
                         HarnessName);

}  // namespace
}  // namespace qreport::fuzz
