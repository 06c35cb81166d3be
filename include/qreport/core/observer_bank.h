// All observation points of one model and their statistics: what calibration produces and
// detectors read. Mergeable and saved to a file, so calibration can be split across
// processes and resumed.
//
//   qreport::ObserverBank bank(model_id, {{{"fc1", ObservationPosition::kPre}, options}});
//   bank.Observe(0, activation_view);     // slot 0 = the first requested point
//   bank.Save("calib.qstate");
//   auto other = qreport::ObserverBank::Load("part2.qstate");
//   bank.Merge(other);
#ifndef QREPORT_CORE_OBSERVER_BANK_H_
#define QREPORT_CORE_OBSERVER_BANK_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "qreport/core/layer.h"
#include "qreport/core/observer.h"

namespace qreport {

// Which model a bank belongs to. Two banks merge only when their fingerprints agree.
struct ModelIdentity {
  std::string fingerprint;  // a content hash of the model, computed by the front-end
  std::string path;         // where it was loaded from, for messages only

  bool operator==(const ModelIdentity& other) const { return fingerprint == other.fingerprint; }
};

struct PointKey {
  std::string fqn;  // the layer's module
  ObservationPosition position = ObservationPosition::kPre;

  bool operator==(const PointKey& o) const { return fqn == o.fqn && position == o.position; }
  bool operator<(const PointKey& o) const {
    return fqn != o.fqn ? fqn < o.fqn : position < o.position;
  }
};

std::string ToString(const PointKey& key);  // "fc1 (pre)"

struct PointRequest {
  PointKey key;
  ObserverOptions options;
};

class ObserverBank {
 public:
  // One observer per distinct key. REQUIRES: keys are distinct (merge requests first).
  ObserverBank(ModelIdentity model, const std::vector<PointRequest>& points);

  const ModelIdentity& model() const { return model_; }
  size_t size() const { return keys_.size(); }
  const PointKey& key(size_t slot) const { return keys_[slot]; }
  const ObserverState& state(size_t slot) const { return states_[slot]; }
  std::optional<size_t> SlotOf(const PointKey& key) const;
  const ObserverState* Find(const PointKey& key) const;

  // Folds one activation into the point's statistics.
  void Observe(size_t slot, const TensorView& activation);

  // Calibration batches run through the model (forward calls), counted by the front-end.
  int64_t batches() const { return batches_; }
  void AddBatches(int64_t count) { batches_ += count; }

  // Folds another bank of the same model and points in. Throws qreport::Error otherwise.
  void Merge(const ObserverBank& other);

  // Writes the bank atomically (a temporary file in the same directory, then rename), so
  // a crash never leaves a half-written state. Throws qreport::Error(kIo).
  void Save(const std::string& path) const;
  // Throws qreport::Error(kIo) for unreadable files, kBadData for files that are not states.
  static ObserverBank Load(const std::string& path);

 private:
  ObserverBank() = default;

  ModelIdentity model_;
  std::vector<PointKey> keys_;
  std::vector<ObserverState> states_;
  int64_t batches_ = 0;
};

}  // namespace qreport

#endif  // QREPORT_CORE_OBSERVER_BANK_H_
