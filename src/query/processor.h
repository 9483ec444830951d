// One worker's query engine: a packet in, a reply out. Parse in place, resolve into a plan,
// encode into the caller's buffer, count. Owns its scratch space (query, plan, writer), so a
// worker calls it for every packet without allocating or locking.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/rng.h"

#include "dns/query.h"
#include "dns/writer.h"
#include "metrics/counter.h"
#include "metrics/prometheus.h"
#include "query/answer_plan.h"
#include "query/resolver.h"
#include "query/snapshot.h"

namespace pharos::query {

// Query types counted individually; the rest are "other".
inline constexpr uint16_t kCountedTypes[] = {1, 2, 5, 6, 12, 15, 16, 28, 33, 35, 43, 48, 64, 65, 255, 257};
inline constexpr size_t kTypeSlots = sizeof(kCountedTypes) / sizeof(kCountedTypes[0]) + 1;
inline constexpr size_t kRcodeSlots = 17;  // 0..15, then BADVERS

struct QueryCounters {
  metrics::Counter queries[2];  // by transport: udp, tcp
  metrics::Counter rcodes[kRcodeSlots];
  metrics::Counter types[kTypeSlots];
  metrics::Counter dropped;    // no reply: not a query, or too short to answer
  metrics::Counter malformed;  // answered FORMERR
  metrics::Counter truncated;  // replied with TC
  metrics::Counter edns;
};

// Names for the Prometheus labels: an rcode slot's ("NOERROR", ..., "BADVERS"), a type slot's ("A", ..., "other").
const char* rcode_label(size_t slot);
const char* type_label(size_t slot);

// The pharos_dns_* families, summed over the workers' counters.
void write_metrics(metrics::TextWriter& w, const std::vector<const QueryCounters*>& workers);

class QueryProcessor {
 public:
  // A processor that counts no policy answers (explain, tools): its queries are not clients'.
  static constexpr unsigned kUncounted = ~0u;

  // Seeds its random source from the system's. `slot`: this worker's block in the snapshot's
  // AnswerCounters (each worker its own, since a block has one writer), or kUncounted.
  explicit QueryProcessor(unsigned slot);

  // Returns the reply length, or 0 when the packet gets no reply. `reply` holds `cap` bytes and
  // must not overlap `packet`. `peer` is the client's address (null: unknown), which cidr policy
  // records use when the query carries no Client Subnet option.
  size_t process(const Snapshot& s, const uint8_t* packet, size_t size, uint8_t* reply, size_t cap, Transport t,
                 const sockaddr* peer = nullptr);

  const QueryCounters& counters() const { return counters_; }
  Rng& rng() { return rng_; }  // tests reseed it to replay random choices
  // The plan of the last query processed (explain reads the policy records' selections).
  const AnswerPlan& plan() const { return plan_; }

 private:
  dns::Query query_;
  AnswerPlan plan_;
  dns::MessageWriter writer_;
  QueryCounters counters_;
  Rng rng_;
  unsigned slot_;
};

}  // namespace pharos::query
