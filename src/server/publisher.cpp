#include "server/publisher.h"

namespace pharos::server {

void Publisher::publish_config(std::shared_ptr<query::Snapshot> base) {
  std::lock_guard lock(mutex_);
  if (base->policies && !base->policies->empty()) {
    if (base_ && base_->policies == base->policies) {
      base->answers = base_->answers;
    } else {  // a new set: new counters (the old ones stay counted until no snapshot holds them)
      base->answers = std::make_shared<query::AnswerCounters>(base->policies->member_keys().size(),
                                                              base->policies->records().size(), slots_);
      counted_.push_back(Counted{base->policies, base->answers});
    }
  }
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

void Publisher::add_counts(const Counted& c, std::map<MemberName, uint64_t>& totals) const {
  const policy::PolicySet& set = *c.set;
  const auto& keys = set.member_keys();
  for (uint32_t m = 0; m < c.answers->members(); ++m) {
    if (uint64_t n = c.answers->member(m)) totals[{keys[set.member(m).id].record, keys[set.member(m).id].value}] += n;
  }
  for (uint32_t r = 0; r < c.answers->records(); ++r) {
    if (uint64_t n = c.answers->fallback(r)) totals[{set.record(r).id, "fallback"}] += n;
  }
}

void Publisher::write_answers(metrics::TextWriter& w) {
  std::map<MemberName, uint64_t> totals;
  {
    std::lock_guard lock(mutex_);
    // A set whose counters only the ledger holds is done counting: fold it in for good.
    for (auto it = counted_.begin(); it != counted_.end();) {
      if (it->answers.use_count() == 1) {
        add_counts(*it, retired_);
        it = counted_.erase(it);
      } else {
        ++it;
      }
    }
    totals = retired_;
    for (const Counted& c : counted_) add_counts(c, totals);
    // Members of the running set answer 0 until chosen, so that their series exist from the start.
    if (base_ && base_->policies) {
      for (const auto& k : base_->policies->member_keys()) totals.try_emplace({k.record, k.value}, 0);
    }
  }
  w.family("pharos_policy_answers_total", "counter",
           "Values answered by policy records, by record id and the member they came from (\"fallback\": the "
           "record's fallback values).");
  for (const auto& [name, n] : totals) {
    w.sample("pharos_policy_answers_total", metrics::TextWriter::labels({{"record", name.first}, {"member", name.second}}),
             n);
  }
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
