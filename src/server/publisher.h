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
#include <mutex>

#include "health/health_view.h"
#include "query/snapshot.h"
#include "server/snapshot_store.h"

namespace pharos::server {

class Publisher {
 public:
  explicit Publisher(SnapshotStore& store) : store_(store) {}

  // A reload: `base` has the zones, options and policy records; its health is filled in here.
  void publish_config(std::shared_ptr<query::Snapshot> base);
  // A health change. Thread-safe, like publish_config.
  void publish_health(std::shared_ptr<const health::HealthView> view);

 private:
  void publish_locked();

  SnapshotStore& store_;
  std::mutex mutex_;
  std::shared_ptr<const query::Snapshot> base_;
  std::shared_ptr<const health::HealthView> view_;  // the latest, of whatever registry
};

}  // namespace pharos::server
