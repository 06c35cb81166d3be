// QConfig mappings given to analyze --qconfig, read from a file as the command reads them.
#include <string>

#include "fuzz_support.h"
#include "fuzz_targets.h"
#include "qreport/core/error.h"
#include "qreport/core/qconfig/qconfig.h"

namespace qreport::fuzz {

int QConfigTarget(const uint8_t* data, size_t size) {
  try {
    const QConfigMapping mapping =
        QConfigMapping::FromJsonFile(WriteScratchFile("qconfig.json", data, size));
    // What analyze then does with it: resolve modules (every regex runs) and write it back.
    for (const char* fqn : {"", "fc1", "body.0.conv", "a.b.c.d.e.f.g.h"}) {
      (void)mapping.Resolve(fqn, "torch.nn.modules.linear.Linear");
      (void)mapping.Resolve(fqn, "torch.nn.modules.conv.Conv2d");
    }
    const nlohmann::ordered_json written = mapping.ToJson();
    (void)QConfigMapping::FromJson(nlohmann::json::parse(written.dump()));
    (void)ToPython(mapping);
  } catch (const Error&) {
  }
  return 0;
}

}  // namespace qreport::fuzz

QREPORT_FUZZ_ENTRY_POINT(QConfigTarget)
