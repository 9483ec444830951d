#include "server/snapshot_store.h"

namespace pharos::server {

void SnapshotStore::publish(std::shared_ptr<query::Snapshot> s) {
  std::lock_guard lock(mutex_);
  s->generation = generation_.load(std::memory_order_relaxed) + 1;
  if (current_) retired_.push_back(std::move(current_));
  current_ = std::move(s);
  generation_.store(current_->generation, std::memory_order_release);
}

std::shared_ptr<const query::Snapshot> SnapshotStore::current() const {
  std::lock_guard lock(mutex_);
  return current_;
}

size_t SnapshotStore::collect() {
  std::vector<std::shared_ptr<const query::Snapshot>> unused;
  {
    std::lock_guard lock(mutex_);
    for (auto it = retired_.begin(); it != retired_.end();) {
      if (it->use_count() == 1) {
        unused.push_back(std::move(*it));
        it = retired_.erase(it);
      } else {
        ++it;
      }
    }
  }
  // Destroyed here, outside the lock.
  unused.clear();
  std::lock_guard lock(mutex_);
  return retired_.size();
}

}  // namespace pharos::server
