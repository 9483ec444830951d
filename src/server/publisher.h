// Combining the two things that change what pharos answers into one published Snapshot: the
// loader thread's zones, options and policy records (a reload), and the health engine's views (a
// probe result). Each side publishes when it changes; the other side's latest part is reused.
//
// Check and member ids are positions in one config generation (the "registry"), so a view is
// only ever combined with the policy records of its own registry. A reload configures the engine
// with the new registry first (its first view carries the kept state of unchanged checks) and
// publishes the new records after, so a reload never shows records without health.
#pragma once

#include <memory>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "metrics/prometheus.h"

#include "health/health_view.h"
#include "query/snapshot.h"
#include "server/snapshot_store.h"

namespace pharos::server {

class Publisher {
 public:
  // `answer_slots`: the query workers that count policy answers (Server::query_slots).
  explicit Publisher(SnapshotStore& store, unsigned answer_slots = 1) : store_(store), slots_(answer_slots) {}

  // A reload: `base` has the zones, options and policy records; its health is filled in here.
  void publish_config(std::shared_ptr<query::Snapshot> base);
  // A health change. Thread-safe, like publish_config.
  void publish_health(std::shared_ptr<const health::HealthView> view);

  // pharos_policy_answers_total{record,member}: every policy set's AnswerCounters summed, and
  // what retired sets counted, by record id and member (value, or nested record id; "fallback"
  // for the fallback values), so a member keeps its running total across reloads. Any thread.
  void write_answers(metrics::TextWriter& w);

 private:
  void publish_locked();

  SnapshotStore& store_;
  std::mutex mutex_;
  std::shared_ptr<const query::Snapshot> base_;
  std::shared_ptr<const health::HealthView> view_;  // the latest, of whatever registry

  // The answer ledger.
  using MemberName = std::pair<std::string, std::string>;  // record id, member
  struct Counted {
    std::shared_ptr<const policy::PolicySet> set;
    std::shared_ptr<query::AnswerCounters> answers;
  };
  void add_counts(const Counted& c, std::map<MemberName, uint64_t>& totals) const;
  unsigned slots_;
  std::vector<Counted> counted_;                 // every set whose counters a snapshot may still hold
  std::map<MemberName, uint64_t> retired_;       // totals of the sets no snapshot holds any more
};

}  // namespace pharos::server
