// All observation points of one model and their statistics: what calibration produces and
// detectors read. Mergeable and saved to a file, so calibration can be split across
// processes and resumed.
//
//   qreport::ObserverBank bank(model_id, {{{"fc1", ObservationPosition::kPre}, options}});
//   bank.Observe(0, activation_view);     // slot 0 = the first requested point
//   bank.Save("calib.qstate");
//   auto other = qreport::ObserverBank::Load("part2.qstate");
//   bank.Merge(other);
#ifndef QREPORT_CORE_OBSERVE_OBSERVER_BANK_H_
#define QREPORT_CORE_OBSERVE_OBSERVER_BANK_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "qreport/core/model/layer.h"
#include "qreport/core/observe/observer.h"

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

// Whether one observer can serve both option sets: the channel axis matters only when both
// ask for per-channel statistics, the percentile only when both ask for it.
bool CanShareObserver(const ObserverOptions& a, const ObserverOptions& b);

// The options of one observer serving both: statistics united, the axis and percentile of
// whichever needs them. REQUIRES: CanShareObserver(a, b).
ObserverOptions UniteObserverOptions(const ObserverOptions& a, const ObserverOptions& b);

// Whether an observer with `state` options computes everything `wanted` asks for.
bool Serves(const ObserverOptions& state, const ObserverOptions& wanted);

// One request per observer: requests for the same point that can share an observer are
// combined (statistics united); others (say, two percentiles at one point) stay apart.
// The order of first appearance is kept, so the result is deterministic.
std::vector<PointRequest> MergePointRequests(const std::vector<PointRequest>& requests);

class ObserverBank {
 public:
  // One observer per request. REQUIRES: requests merged (MergePointRequests): no two at one
  // point could share an observer.
  ObserverBank(ModelIdentity model, const std::vector<PointRequest>& points);

  const ModelIdentity& model() const { return model_; }
  size_t size() const { return keys_.size(); }
  const PointKey& key(size_t slot) const { return keys_[slot]; }
  const ObserverState& state(size_t slot) const { return states_[slot]; }
  // The first observer at `key`, or the one serving `request` (see Serves).
  std::optional<size_t> SlotOf(const PointKey& key) const;
  std::optional<size_t> SlotServing(const PointRequest& request) const;
  const ObserverState* Find(const PointKey& key) const;
  const ObserverState* FindServing(const PointRequest& request) const;

  // Folds one activation into the point's statistics, and into every slot that mirrors it;
  // `site`: which of the point's call sites it comes from (see ObserverState::Update).
  void Observe(size_t slot, const TensorView& activation, size_t site = 0);
  // Folds one activation into several points' observers at once (the output of a layer that
  // is also the next module's input). The observer keeping the most statistics reads it; each
  // of the others takes its batch from that one where that is exact (ObserveThrough, with the
  // identity), and reads the tensor itself where not. The same statistics as Observe on each.
  void ObserveAll(const std::vector<size_t>& slots, const TensorView& activation, size_t site = 0);

  // Folds into `slot`, and the slots mirroring it, the batch `input_slot` saw last mapped
  // through `map` (ObserverState::UpdateThrough): for a point that observes clamp(x) where x
  // is observed too. False, changing nothing, where that would not be exact; the caller then
  // observes the tensor itself.
  bool ObserveThrough(size_t slot, size_t input_slot, const ClampMap& map);
  // How many updates ObserveThrough made without reading a tensor (not saved or merged).
  int64_t mapped_updates() const { return mapped_updates_; }

  // Declares that `follower` observes exactly the tensors `leader` observes (the same graph
  // values, with the same options), so its statistics are copied rather than computed again.
  // REQUIRES: equal options and no batches seen yet.
  void Mirror(size_t follower, size_t leader);

  // Calibration batches run through the model (forward calls), counted by the front-end.
  int64_t batches() const { return batches_; }
  void AddBatches(int64_t count) { batches_ += count; }

  // Folds another bank of the same model and points in. Throws qreport::Error otherwise.
  void Merge(const ObserverBank& other);

  // Takes over the statistics and batch count of `saved` (a checkpoint of the same model and
  // points), keeping this bank's mirrors. Throws qreport::Error(kInvalidArgument) otherwise.
  void Restore(const ObserverBank& saved);

  // Writes the bank as io/output_file.h's WriteFileAtomically does: a crash or a second
  // writer never leaves a half-written or mixed state, and /dev/null is written through, not
  // replaced. Throws qreport::Error(kIo).
  void Save(const std::string& path) const;
  // What Save writes, in memory (to send to another process); FromBytes reads it back.
  std::vector<uint8_t> ToBytes() const;
  // Throws qreport::Error(kIo) for unreadable files, kBadData for files that are not states.
  static ObserverBank Load(const std::string& path);
  // What Load reads, from the file's bytes in memory; `source` names them in every error.
  // Throws qreport::Error(kBadData) when they are not a state.
  static ObserverBank FromBytes(const uint8_t* data, size_t size, const std::string& source);

 private:
  ObserverBank() = default;
  // Throws qreport::Error(kInvalidArgument) unless `other` has our model and observers.
  void CheckSamePoints(const ObserverBank& other, const char* action) const;

  ModelIdentity model_;
  std::vector<PointKey> keys_;
  std::vector<ObserverState> states_;
  std::vector<std::vector<size_t>> followers_;  // by leader slot; not saved
  int64_t batches_ = 0;
  int64_t mapped_updates_ = 0;
};

}  // namespace qreport

#endif  // QREPORT_CORE_OBSERVE_OBSERVER_BANK_H_
