// The health engine: runs every check's probes on its own thread, keeps each check's rise/fall
// state, applies overrides, and publishes a new HealthView whenever an effective state changes.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "config/config.h"
#include "health/health_view.h"
#include "metrics/histogram.h"
#include "metrics/prometheus.h"

namespace pharos::health {

using Clock = std::chrono::system_clock;  // override expiries are wall-clock times

// One probe's outcome.
struct ProbeResult {
  bool ok = false;
  std::string reason;  // why it failed ("connect timeout", "status 503", "body lacks \"ok\""), or a short success note
  std::chrono::microseconds latency{0};
};

// A check as the status and the control API show it.
struct CheckStatus {
  std::string name;
  std::string target;        // "192.0.2.10:443"
  config::CheckType type;
  Health raw;                // from probes alone (Unknown until the first result)
  Health effective;          // after inversion, disabled, children (calculated) and overrides
  unsigned consecutive_ok = 0;
  unsigned consecutive_fail = 0;
  std::string last_reason;
  std::chrono::microseconds last_latency{0};
  Clock::time_point last_probe{};
  Clock::time_point since{};  // when `effective` last changed
  uint64_t probes = 0;
  uint64_t failures = 0;
  uint64_t transitions = 0;
  uint64_t transitions_to[3] = {};            // by the Health changed to
  metrics::HistogramValues probe_duration;    // every probe's latency
  struct Transition {
    Clock::time_point at;
    Health from;
    Health to;
    std::string reason;
  };
  std::vector<Transition> history;  // the last few, newest last
};

struct OverrideEntry {
  uint64_t id = 0;
  bool on_check = false;  // target: a check (by name) or a member (by key)
  std::string check;
  MemberKey member;
  Override action = Override::Down;
  std::optional<Clock::time_point> until;
  std::string reason;
  Clock::time_point created{};
};

struct EngineStatus {
  uint64_t view_version = 0;
  std::vector<CheckStatus> checks;  // by name
  std::vector<OverrideEntry> overrides;
};

class HealthEngine {
 public:
  // `publish` is called on the engine's thread with every new view (and once per configure),
  // one at a time, in increasing version order. It should be quick (probes wait meanwhile) and
  // must not wait for a thread that may be inside a call to this engine. It may call the
  // engine's methods (they then run inline); a view published by such a call is delivered
  // after the current one returns, so a consumer may see versions skipped, never reordered.
  using Publish = std::function<void(std::shared_ptr<const HealthView>)>;

  explicit HealthEngine(Publish publish);
  ~HealthEngine();  // stops the thread and every probe
  HealthEngine(const HealthEngine&) = delete;
  HealthEngine& operator=(const HealthEngine&) = delete;

  // Replaces the checks and the member list (a config load). Ids are positions in these vectors;
  // `registry` tags the published views. A check whose definition is unchanged (by name and
  // HealthCheck::same_definition) keeps its state and schedule (its probe spec is prepared again, so a
  // rewritten ca_file is trusted from its next probe on); new ones start Unknown and are
  // probed at once. Overrides on checks or members that no longer exist are dropped.
  // Thread-safe; returns once the new registry is in place and its first view published.
  void configure(uint64_t registry, std::vector<config::HealthCheck> checks, std::vector<MemberKey> members);

  // Blocks until every probed check of the last configure() has had its first result, or
  // `limit` passed; returns whether they all had. Used at start-up, so the first answers
  // already follow real health. Does not involve the engine thread.
  bool wait_initial_round(std::chrono::milliseconds limit);

  // Overrides. An override on a check forces its effective state (Up/Down; Drain acts as Down);
  // one on a member forces that member only. Setting one replaces any on the same target.
  Result<OverrideEntry> set_override(OverrideEntry request);
  bool clear_override(uint64_t id);

  EngineStatus status() const;  // thread-safe copy

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The pharos_health_* families from a status: check_up (1 healthy, 0 unhealthy, -1 unknown),
// transitions by the state changed to, probes by result, probe durations, overrides active.
void write_metrics(metrics::TextWriter& w, const EngineStatus& status);

}  // namespace pharos::health
