// Choosing a member of a pool for one request, among those usable (up, and not the member a
// retry moves away from). Pure: the caller fills one slot per member from the published health
// and the members' live counters, and keeps a cursor per pool (per worker, so no locks).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "config/config.h"

namespace pharos::edge {

struct MemberSlot {
  unsigned weight = 1;
  bool usable = true;
  int32_t active = 0;  // requests in flight to it, across workers (least_connections)
  uint64_t key = 0;    // a stable hash of the member's address (ip_hash)
};

// What a worker remembers about a pool between requests.
struct PoolCursor {
  uint32_t next = 0;             // round_robin; the tie-break start of least_connections
  std::vector<int64_t> current;  // weighted: smooth weighted round-robin state, one per member
};

// The member to use, or -1 when none is usable.
//   round_robin        each usable member in turn, weights ignored
//   weighted           smooth weighted round-robin (as nginx): over any window of sum(weights)
//                      picks, member i is chosen weight(i) times, interleaved
//   least_connections  fewest requests in flight relative to weight; ties in turn
//   ip_hash            weighted rendezvous hashing of the client address: a client keeps its
//                      member while that member is usable; when one goes, only its clients move
int pick(config::Balance rule, std::span<const MemberSlot> members, PoolCursor& cursor, uint64_t client_key);

// 64-bit hash of bytes (FNV-1a then a final mix), for client and member keys.
uint64_t hash_bytes(const void* data, size_t size, uint64_t seed = 0);

}  // namespace pharos::edge
