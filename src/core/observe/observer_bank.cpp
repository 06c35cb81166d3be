#include "qreport/core/observe/observer_bank.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>

#include "qreport/core/error.h"

namespace qreport {
namespace {

constexpr const char* kFormat = "qreport-observer-state";
constexpr int kFormatVersion = 1;

}  // namespace

bool CanShareObserver(const ObserverOptions& a, const ObserverOptions& b) {
  const bool both_channels =
      (a.statistics & kChannelStatistics) && (b.statistics & kChannelStatistics);
  const bool both_percentile =
      (a.statistics & kPercentileStatistics) && (b.statistics & kPercentileStatistics);
  return (!both_channels || a.channel_axis == b.channel_axis) &&
         (!both_percentile || a.comp_percentile == b.comp_percentile);
}

ObserverOptions UniteObserverOptions(const ObserverOptions& a, const ObserverOptions& b) {
  ObserverOptions united = a;
  if (!(a.statistics & kChannelStatistics)) united.channel_axis = b.channel_axis;
  if (!(a.statistics & kPercentileStatistics)) united.comp_percentile = b.comp_percentile;
  united.statistics = a.statistics | b.statistics;
  return united;
}

bool Serves(const ObserverOptions& state, const ObserverOptions& wanted) {
  return (state.statistics & wanted.statistics) == wanted.statistics &&
         CanShareObserver(state, wanted);
}

std::vector<PointRequest> MergePointRequests(const std::vector<PointRequest>& requests) {
  std::vector<PointRequest> merged;
  for (const PointRequest& request : requests) {
    auto same = std::find_if(merged.begin(), merged.end(), [&](const PointRequest& r) {
      return r.key == request.key && CanShareObserver(r.options, request.options);
    });
    if (same == merged.end()) {
      merged.push_back(request);
      continue;
    }
    same->options = UniteObserverOptions(same->options, request.options);
  }
  return merged;
}

std::string ToString(const PointKey& key) {
  return fmt::format("{} ({})", key.fqn.empty() ? "<root>" : key.fqn, ToString(key.position));
}

ObserverBank::ObserverBank(ModelIdentity model, const std::vector<PointRequest>& points)
    : model_(std::move(model)) {
  for (const PointRequest& point : points) {
    for (size_t slot = 0; slot < keys_.size(); ++slot) {
      QREPORT_ASSERT(
          !(keys_[slot] == point.key && CanShareObserver(states_[slot].options(), point.options)),
          "point {} requested twice (merge the requests first)", ToString(point.key));
    }
    keys_.push_back(point.key);
    states_.emplace_back(point.options);
  }
  followers_.resize(keys_.size());
}

std::optional<size_t> ObserverBank::SlotOf(const PointKey& key) const {
  for (size_t slot = 0; slot < keys_.size(); ++slot) {
    if (keys_[slot] == key) return slot;
  }
  return std::nullopt;
}

std::optional<size_t> ObserverBank::SlotServing(const PointRequest& request) const {
  for (size_t slot = 0; slot < keys_.size(); ++slot) {
    if (keys_[slot] == request.key && Serves(states_[slot].options(), request.options)) {
      return slot;
    }
  }
  return std::nullopt;
}

const ObserverState* ObserverBank::Find(const PointKey& key) const {
  const auto slot = SlotOf(key);
  return slot ? &states_[*slot] : nullptr;
}

const ObserverState* ObserverBank::FindServing(const PointRequest& request) const {
  const auto slot = SlotServing(request);
  return slot ? &states_[*slot] : nullptr;
}

void ObserverBank::Observe(size_t slot, const TensorView& activation, size_t site) {
  QREPORT_ASSERT(slot < states_.size(), "observer slot {} of {}", slot, states_.size());
  states_[slot].Update(activation, site);
  for (size_t follower : followers_[slot]) states_[follower] = states_[slot];
}

void ObserverBank::ObserveAll(const std::vector<size_t>& slots, const TensorView& activation,
                              size_t site) {
  if (slots.empty()) return;
  const auto richness = [&](size_t slot) {
    QREPORT_ASSERT(slot < states_.size(), "observer slot {} of {}", slot, states_.size());
    return __builtin_popcount(states_[slot].options().statistics);
  };
  const size_t reader = *std::max_element(
      slots.begin(), slots.end(), [&](size_t a, size_t b) { return richness(a) < richness(b); });
  Observe(reader, activation, site);
  for (size_t slot : slots) {
    if (slot == reader) continue;
    if (!ObserveThrough(slot, reader, ClampMap{})) Observe(slot, activation, site);
  }
}

bool ObserverBank::ObserveThrough(size_t slot, size_t input_slot, const ClampMap& map) {
  QREPORT_ASSERT(slot < states_.size() && input_slot < states_.size() && slot != input_slot,
                 "observer slots {} <- {} of {}", slot, input_slot, states_.size());
  if (!states_[slot].UpdateThrough(states_[input_slot], map)) return false;
  ++mapped_updates_;
  for (size_t follower : followers_[slot]) states_[follower] = states_[slot];
  return true;
}

void ObserverBank::Mirror(size_t follower, size_t leader) {
  QREPORT_ASSERT(follower < states_.size() && leader < states_.size() && follower != leader,
                 "mirror {} -> {} of {} slots", leader, follower, states_.size());
  QREPORT_ASSERT(states_[follower].options() == states_[leader].options(),
                 "mirrored points {} and {} need equal options", ToString(keys_[follower]),
                 ToString(keys_[leader]));
  QREPORT_ASSERT(states_[leader].num_batches() == 0 && states_[follower].num_batches() == 0,
                 "mirrors are declared before calibration");
  followers_[leader].push_back(follower);
}

void ObserverBank::CheckSamePoints(const ObserverBank& other, const char* action) const {
  QREPORT_CHECK(model_ == other.model_, "cannot {} states of different models ({} and {})", action,
                model_.path, other.model_.path);
  bool same = keys_ == other.keys_;
  for (size_t slot = 0; same && slot < states_.size(); ++slot) {
    same = states_[slot].options() == other.states_[slot].options();
  }
  QREPORT_CHECK(same,
                "cannot {} states that observe different points (were they calibrated with "
                "different detectors, detector options or fusion settings?)",
                action);
}

void ObserverBank::Restore(const ObserverBank& saved) {
  CheckSamePoints(saved, "resume from");
  states_ = saved.states_;
  batches_ = saved.batches_;
}

void ObserverBank::Merge(const ObserverBank& other) {
  CheckSamePoints(other, "merge");
  for (size_t slot = 0; slot < states_.size(); ++slot) {
    try {
      states_[slot].Merge(other.states_[slot]);
    } catch (const Error& e) {
      throw MakeError(ErrorKind::kInvalidArgument, "point {}: {}", ToString(keys_[slot]), e.what());
    }
  }
  batches_ += other.batches_;
}

void ObserverBank::Save(const std::string& path) const {
  nlohmann::json points = nlohmann::json::array();
  for (size_t slot = 0; slot < keys_.size(); ++slot) {
    points.push_back({{"fqn", keys_[slot].fqn},
                      {"position", ToString(keys_[slot].position)},
                      {"state", states_[slot].ToJson()}});
  }
  const nlohmann::json json = {
      {"format", kFormat},
      {"version", kFormatVersion},
      {"model", {{"fingerprint", model_.fingerprint}, {"path", model_.path}}},
      {"batches", batches_},
      {"points", points}};
  const std::vector<uint8_t> bytes = nlohmann::json::to_cbor(json);

  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out) {
      throw MakeError(ErrorKind::kIo, "{}: cannot write the state: {}", path, std::strerror(errno));
    }
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) {
      std::remove(temporary.c_str());
      throw MakeError(ErrorKind::kIo, "{}: writing the state failed", path);
    }
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    const int err = errno;
    std::remove(temporary.c_str());
    throw MakeError(ErrorKind::kIo, "{}: cannot move the state into place: {}", path,
                    std::strerror(err));
  }
}

ObserverBank ObserverBank::Load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw MakeError(ErrorKind::kIo, "{}: cannot open the state: {}", path, std::strerror(errno));
  }
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                   std::istreambuf_iterator<char>());
  return FromBytes(bytes.data(), bytes.size(), path);
}

ObserverBank ObserverBank::FromBytes(const uint8_t* data, size_t size, const std::string& path) {
  nlohmann::json json;
  try {
    json = nlohmann::json::from_cbor(data, data + size);
  } catch (const nlohmann::json::exception&) {
    throw MakeError(ErrorKind::kBadData,
                    "{}: not a qreport state file (write one with 'qreport calibrate --state')",
                    path);
  }
  // Not json.value(key, default): it throws nlohmann's type_error when the key holds another type.
  const auto format = json.is_object() ? json.find("format") : json.end();
  if (format == json.end() || !format->is_string() || *format != kFormat) {
    throw MakeError(ErrorKind::kBadData, "{}: not a qreport state file", path);
  }
  const auto version = json.find("version");
  QREPORT_CHECK_KIND(
      version != json.end() && version->is_number_integer() && *version == kFormatVersion,
      ErrorKind::kBadData, "{}: state format version {} is not supported (this qreport reads {})",
      path, version == json.end() ? "(none)" : version->dump(), kFormatVersion);
  ObserverBank bank;
  try {
    bank.model_.fingerprint = json.at("model").at("fingerprint").get<std::string>();
    bank.model_.path = json.at("model").at("path").get<std::string>();
    // Not get<int64_t>() alone: it static_casts a float, undefined past int64's range.
    QREPORT_CHECK_KIND(json.at("batches").is_number_integer(), ErrorKind::kBadData,
                       "\"batches\" must be an integer");
    bank.batches_ = json.at("batches").get<int64_t>();
    for (const auto& point : json.at("points")) {
      const std::string position = point.at("position").get<std::string>();
      QREPORT_CHECK_KIND(position == "pre" || position == "post", ErrorKind::kBadData,
                         "{}: unknown observation position '{}'", path, position);
      bank.keys_.push_back({point.at("fqn").get<std::string>(), position == "pre"
                                                                    ? ObservationPosition::kPre
                                                                    : ObservationPosition::kPost});
      bank.states_.push_back(ObserverState::FromJson(point.at("state")));
    }
    bank.followers_.resize(bank.keys_.size());
  } catch (const nlohmann::json::exception& e) {
    throw MakeError(ErrorKind::kBadData, "{}: damaged state file: {}", path, e.what());
  } catch (const Error& e) {
    throw MakeError(ErrorKind::kBadData, "{}: damaged state file: {}", path, e.what());
  }
  return bank;
}

}  // namespace qreport
