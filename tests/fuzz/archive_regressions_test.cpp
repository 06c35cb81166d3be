#include "fuzz/replay.h"
#include "fuzz_targets.h"

namespace qreport::fuzz {
namespace {

TEST(ArchiveFuzzRegressionTest, EveryInputIsReadOrRejectedWithAnError) {
  Replay({"archive", ArchiveTarget});
}

}  // namespace
}  // namespace qreport::fuzz
