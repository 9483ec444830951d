#include "health/engine.h"

namespace pharos::health {

void write_metrics(metrics::TextWriter& w, const EngineStatus& status) {
  using metrics::TextWriter;
  w.family("pharos_health_check_up", "gauge", "A check's effective state: 1 healthy, 0 unhealthy, -1 unknown (no result yet).");
  for (const auto& c : status.checks) {
    const double up = c.effective == Health::Healthy ? 1.0 : c.effective == Health::Unhealthy ? 0.0 : -1.0;
    w.sample("pharos_health_check_up", TextWriter::labels({{"check", c.name}}), up);
  }
  w.family("pharos_health_transitions_total", "counter", "Changes of a check's effective state, by the state changed to.");
  const char* states[] = {"unknown", "healthy", "unhealthy"};
  for (const auto& c : status.checks) {
    for (size_t to = 1; to < 3; ++to) {
      w.sample("pharos_health_transitions_total", TextWriter::labels({{"check", c.name}, {"to", states[to]}}),
               c.transitions_to[to]);
    }
  }
  w.family("pharos_health_probes_total", "counter", "Probes run, by result.");
  for (const auto& c : status.checks) {
    w.sample("pharos_health_probes_total", TextWriter::labels({{"check", c.name}, {"result", "ok"}}), c.probes - c.failures);
    w.sample("pharos_health_probes_total", TextWriter::labels({{"check", c.name}, {"result", "fail"}}), c.failures);
  }
  w.family("pharos_health_probe_duration_seconds", "histogram", "How long probes took (failed ones included).");
  for (const auto& c : status.checks) {
    metrics::write_histogram(w, "pharos_health_probe_duration_seconds", TextWriter::labels({{"check", c.name}}),
                             c.probe_duration);
  }
  w.family("pharos_health_overrides_active", "gauge", "Overrides in force (on checks and on members).");
  w.sample("pharos_health_overrides_active", "", static_cast<uint64_t>(status.overrides.size()));
}

}  // namespace pharos::health
