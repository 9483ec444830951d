#include "edge/state.h"

namespace pharos::edge {

void Publication::publish_state(std::shared_ptr<const EdgeState> s) {
  std::lock_guard lock(mutex_);
  state_ = std::move(s);
  generation_.fetch_add(1, std::memory_order_release);
}

void Publication::publish_view(std::shared_ptr<const health::HealthView> v) {
  std::lock_guard lock(mutex_);
  view_ = std::move(v);
  generation_.fetch_add(1, std::memory_order_release);
}

uint64_t Publication::get(std::shared_ptr<const EdgeState>& s, std::shared_ptr<const health::HealthView>& v) const {
  std::lock_guard lock(mutex_);
  s = state_;
  v = view_;
  return generation_.load(std::memory_order_relaxed);
}

std::shared_ptr<const EdgeState> Publication::state() const {
  std::lock_guard lock(mutex_);
  return state_;
}

}  // namespace pharos::edge
