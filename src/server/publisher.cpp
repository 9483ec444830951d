#include "server/publisher.h"

namespace pharos::server {

void Publisher::publish_config(std::shared_ptr<query::Snapshot> base) {
  std::lock_guard lock(mutex_);
  base_ = std::move(base);
  publish_locked();
}

void Publisher::publish_health(std::shared_ptr<const health::HealthView> view) {
  std::lock_guard lock(mutex_);
  view_ = std::move(view);
  // A view of a registry whose records are not published yet waits for them.
  if (!base_ || !base_->policies || base_->policies->registry() != view_->registry) return;
  publish_locked();
}

void Publisher::publish_locked() {
  if (!base_) return;
  auto s = std::make_shared<query::Snapshot>(*base_);
  const bool matches = view_ && s->policies && s->policies->registry() == view_->registry;
  s->health = matches ? view_ : nullptr;
  s->standings =
      s->policies ? std::make_shared<const policy::Standings>(*s->policies, s->health.get()) : nullptr;
  store_.publish(std::move(s));
}

}  // namespace pharos::server
