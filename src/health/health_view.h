// What the query path reads about health: an immutable snapshot of every check's effective
// state and every member's override, indexed by the ids of one registry generation. The engine
// publishes a new one on every change; nothing in it changes after publication.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace pharos::health {

enum class Health : uint8_t { Unknown = 0, Healthy = 1, Unhealthy = 2 };
enum class Override : uint8_t { None = 0, Up = 1, Down = 2, Drain = 3 };

// A member of a policy record, as overrides name it: the record's id and the member's value
// (or, for a nested member, the nested record's id).
struct MemberKey {
  std::string record;
  std::string value;
  bool operator==(const MemberKey&) const = default;
};

struct HealthView {
  uint64_t version = 0;   // increases with every publication
  uint64_t registry = 0;  // the configure() generation whose ids these are
  // By check id: the state after inversion, `disabled` and check overrides. Calculated checks
  // are resolved here too, so a reader never walks children.
  std::vector<Health> checks;
  // By member id: an override set on that member, or None.
  std::vector<Override> members;

  Health check(uint32_t id) const { return id < checks.size() ? checks[id] : Health::Unknown; }
  Override member(uint32_t id) const { return id < members.size() ? members[id] : Override::None; }
};

}  // namespace pharos::health
