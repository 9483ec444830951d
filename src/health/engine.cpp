// The health engine. Everything below runs on the engine thread ("pharos-health", one
// io_context); the public methods post to it and wait. Probes, timers, overrides and the
// published views are therefore single-threaded; only wait_initial_round shares a counter.
#include "health/engine.h"

#include <pthread.h>

#include <algorithm>
#include <condition_variable>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <random>
#include <thread>
#include <unordered_map>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/system_timer.hpp>

#include "common/log.h"
#include "dns/name.h"
#include "health/probe.h"
#include "health/scheduler.h"
#include "health/state_machine.h"

namespace pharos::health {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

constexpr size_t kHistory = 10;  // transitions kept per check for status()

Health invert(Health h) {
  if (h == Health::Healthy) return Health::Unhealthy;
  if (h == Health::Unhealthy) return Health::Healthy;
  return h;
}

Health forced(Override o) {
  switch (o) {
    case Override::Up:
      return Health::Healthy;
    case Override::Down:
    case Override::Drain:
      return Health::Unhealthy;
    case Override::None:
      break;
  }
  return Health::Unknown;
}

const char* override_name(Override o) {
  switch (o) {
    case Override::Up:
      return "up";
    case Override::Down:
      return "down";
    case Override::Drain:
      return "drain";
    case Override::None:
      break;
  }
  return "none";
}

// "healthy -> unhealthy after 3 failures: connect timeout", "unknown -> healthy: status 200".
std::string tail(const std::string& reason) {
  if (reason.empty()) return "";
  return reason.rfind("after ", 0) == 0 ? " " + reason : ": " + reason;
}

std::string override_target(const OverrideEntry& e) {
  if (e.on_check) return "check " + e.check;
  return "member " + dns::quote(e.member.value) + " of record " + dns::quote(e.member.record);
}

std::string format_time(Clock::time_point t) {
  const std::time_t tt = Clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

// One configured check and everything the engine keeps about it. Survives a configure() whose
// definition of it is unchanged, with its timer, in-flight probe and state.
struct CheckRun {
  CheckRun(asio::io_context& io, config::HealthCheck d, std::shared_ptr<const ProbeSpec> s, Scheduler::Random random)
      : def(std::move(d)),
        spec(std::move(s)),
        machine(def.rise, def.fall),
        scheduler(Timing::of(def), std::move(random)),
        timer(io) {
    status.name = def.name;
    status.target = def.type == config::CheckType::Calculated ? "" : def.target.to_string();
    status.type = def.type;
    status.raw = Health::Unknown;
    status.effective = Health::Unknown;
    status.since = Clock::now();
  }

  bool probed() const { return !def.disabled && def.type != config::CheckType::Calculated; }
  std::string subject() const { return "check " + def.name + (status.target.empty() ? "" : " " + status.target); }

  config::HealthCheck def;
  std::shared_ptr<const ProbeSpec> spec;  // null unless probed()
  StateMachine machine;
  Scheduler scheduler;
  asio::steady_timer timer;
  ProbeHandle probe;
  bool in_flight = false;
  bool had_result = false;
  SteadyClock::time_point last_start{};
  std::string raw_reason;  // why `raw` last changed, as logged
  CheckStatus status;

  // Per registry generation.
  uint32_t id = 0;
  std::vector<int> children;  // check ids; -1 for a name that is not configured
  bool in_cycle = false;
};

struct OverrideSlot {
  OverrideEntry entry;
  std::unique_ptr<asio::system_timer> timer;  // set when the override expires
};

struct HealthEngine::Impl {
  explicit Impl(Publish p) : publish_fn(std::move(p)), work(asio::make_work_guard(io)) {}

  // ---- threading ----------------------------------------------------------------------------

  void start() {
    std::promise<void> started;
    auto ready = started.get_future();
    thread = std::thread([this, &started] {
      pthread_setname_np(pthread_self(), "pharos-health");
      thread_id = std::this_thread::get_id();  // before anyone can call(): the caller waits below
      started.set_value();
      for (;;) {
        try {
          io.run();
          break;
        } catch (const std::exception& e) {
          log->error("health engine: handler failed: {}", e.what());
        }
      }
      finished.set_value();
    });
    ready.wait();
  }

  // Runs `f` on the engine thread and returns its result; inline when already there (a
  // publish callback calling status(), for example).
  template <class F>
  auto call(F&& f) -> std::invoke_result_t<F&> {
    using R = std::invoke_result_t<F&>;
    if (std::this_thread::get_id() == thread_id) return f();
    std::packaged_task<R()> task(std::forward<F>(f));
    auto result = task.get_future();
    asio::post(io, [&task] { task(); });
    return result.get();
  }

  void stop() {
    call([this] { shutdown(); });
    work.reset();
    // Every timer and probe was cancelled, so run() returns at once; should an operation not
    // honour the cancellation, stop the loop rather than hang the caller.
    auto done = finished.get_future();
    if (done.wait_for(std::chrono::seconds(5)) != std::future_status::ready) io.stop();
    thread.join();
  }

  void shutdown() {
    stopping = true;
    for (auto& run : checks) cancel_run(*run);
    for (auto& [id, slot] : overrides) {
      if (slot.timer) slot.timer->cancel();
    }
  }

  static void cancel_run(CheckRun& run) {
    run.timer.cancel();
    run.probe.cancel();
  }

  // ---- probing ------------------------------------------------------------------------------

  void probe_now(const std::shared_ptr<CheckRun>& run) {
    run->in_flight = true;
    run->last_start = SteadyClock::now();
    std::weak_ptr<CheckRun> weak = run;
    run->probe = start_probe(io.get_executor(), run->spec, [this, weak](ProbeResult r) {
      auto run = weak.lock();  // gone: the check was removed or redefined meanwhile
      if (!run || stopping) return;
      on_result(run, std::move(r));
    });
  }

  void schedule(const std::shared_ptr<CheckRun>& run, SteadyClock::time_point at) {
    run->timer.expires_at(at);
    std::weak_ptr<CheckRun> weak = run;
    run->timer.async_wait([this, weak](const error_code& ec) {
      if (ec || stopping) return;
      if (auto run = weak.lock()) probe_now(run);
    });
  }

  void on_result(const std::shared_ptr<CheckRun>& run, ProbeResult r) {
    const auto end = SteadyClock::now();
    run->in_flight = false;
    CheckStatus& st = run->status;
    ++st.probes;
    if (!r.ok) ++st.failures;
    st.last_reason = r.reason;
    st.last_latency = r.latency;
    st.probe_duration.observe(static_cast<uint64_t>(std::max<int64_t>(0, r.latency.count())));
    st.last_probe = Clock::now();
    const StepResult step = run->machine.feed(r.ok, r.reason);
    st.consecutive_ok = run->machine.consecutive_ok();
    st.consecutive_fail = run->machine.consecutive_fail();
    log->debug("{}: probe {} in {}us: {}", run->subject(), r.ok ? "passed" : "failed", r.latency.count(), r.reason);

    const bool first = !run->had_result;
    run->had_result = true;
    if (step.step == Step::Changed) {
      st.raw = step.state;
      run->raw_reason = step.reason + (run->def.inverted ? " (inverted)" : "");
      const Health before = st.effective;
      reevaluate();
      if (st.effective == before) {
        // The verdict changed but something else decides the effective state (an override).
        log->info("{}: probes say {} -> {}{} (stays {}: {})", run->subject(), health_name(step.from),
                  health_name(step.state), tail(step.reason), health_name(st.effective), explain(*run));
      }
      publish_if_changed();
    }
    if (first) update_awaiting();
    schedule(run, run->scheduler.next_start(run->last_start, end, run->machine.pending()));
  }

  // ---- effective states ---------------------------------------------------------------------

  const OverrideEntry* check_override(const std::string& name) const {
    for (const auto& [id, slot] : overrides) {
      if (slot.entry.on_check && slot.entry.check == name) return &slot.entry;
    }
    return nullptr;
  }

  static std::string describe_override(const OverrideEntry& e) {
    std::string s = std::string("override ") + override_name(e.action) + " (id " + std::to_string(e.id) + ")";
    if (!e.reason.empty()) s += ": " + e.reason;
    return s;
  }

  Health derive(const CheckRun& run, std::string& why) const {
    if (run.in_cycle) {
      why = "calculated checks form a cycle";
      return Health::Unknown;
    }
    unsigned healthy = 0, unknown = 0;
    for (int c : run.children) {
      const Health h = c < 0 ? Health::Unknown : checks[static_cast<size_t>(c)]->status.effective;
      if (h == Health::Healthy) ++healthy;
      if (h == Health::Unknown) ++unknown;
    }
    const unsigned need = run.def.min_healthy;
    why = std::to_string(healthy) + " of " + std::to_string(run.children.size()) + " children healthy, min_healthy " +
          std::to_string(need);
    if (unknown) why += ", " + std::to_string(unknown) + " unknown";
    if (healthy >= need) return Health::Healthy;
    if (healthy + unknown >= need) return Health::Unknown;
    return Health::Unhealthy;
  }

  // The effective state as rules say: override, then disabled, then the probes' (or the
  // children's) verdict, inverted if asked. A calculated check's raw state (its children's
  // verdict) is kept up to date even while an override or `disabled` decides.
  Health effective_of(CheckRun& run, std::string& why) {
    Health base;
    if (run.def.type == config::CheckType::Calculated) {
      base = derive(run, why);
      run.status.raw = base;
      if (run.def.inverted) why += " (inverted)";
    } else {
      base = run.status.raw;
      why = run.raw_reason;
    }
    if (const OverrideEntry* o = check_override(run.def.name)) {
      why = describe_override(*o);
      return forced(o->action);
    }
    if (run.def.disabled) {
      why = "disabled";
      return Health::Healthy;
    }
    return run.def.inverted ? invert(base) : base;
  }

  std::string explain(CheckRun& run) {
    std::string why;
    effective_of(run, why);
    return why;
  }

  // Recomputes every effective state, children before parents, and records the transitions.
  // `causes` names the event behind a check's change when the state alone does not tell it
  // (an override cleared or expired).
  void reevaluate(const std::unordered_map<const CheckRun*, std::string>& causes = {}) {
    for (uint32_t id : order) {
      CheckRun& run = *checks[id];
      std::string why;
      const Health h = effective_of(run, why);
      if (h == run.status.effective) continue;
      if (auto it = causes.find(&run); it != causes.end()) why = it->second;
      transition(run, h, why);
    }
  }

  void transition(CheckRun& run, Health to, const std::string& why) {
    CheckStatus& st = run.status;
    const Health from = st.effective;
    const auto now = Clock::now();
    st.effective = to;
    st.since = now;
    ++st.transitions;
    ++st.transitions_to[static_cast<size_t>(to)];
    st.history.push_back(CheckStatus::Transition{now, from, to, why});
    if (st.history.size() > kHistory) st.history.erase(st.history.begin());
    log->log(to == Health::Unhealthy ? spdlog::level::warn : spdlog::level::info, "{}: {} -> {}{}", run.subject(),
             health_name(from), health_name(to), tail(why));
  }

  // ---- publishing ---------------------------------------------------------------------------

  std::shared_ptr<HealthView> build_view() const {
    auto v = std::make_shared<HealthView>();
    v->registry = registry;
    v->checks.reserve(checks.size());
    for (const auto& run : checks) v->checks.push_back(run->status.effective);
    v->members.assign(members.size(), Override::None);
    for (const auto& [id, slot] : overrides) {
      if (slot.entry.on_check) continue;
      for (size_t i = 0; i < members.size(); ++i) {
        if (members[i] == slot.entry.member) v->members[i] = slot.entry.action;
      }
    }
    return v;
  }

  // Hands `v` to the callback. Views reach it one at a time and in version order: should the
  // callback call back into the engine (it runs on the engine thread, so such calls run
  // inline) and cause another publication, that one is not delivered from inside the first
  // but right after it returns -- only the newest, so a version may be skipped, never reordered.
  void publish(std::shared_ptr<HealthView> v) {
    v->version = ++version;
    current = v;
    if (!publish_fn || publishing) return;
    publishing = true;
    std::shared_ptr<const HealthView> sent;
    while (sent != current) {
      sent = current;
      try {
        publish_fn(sent);
      } catch (const std::exception& e) {
        log->error("health view {}: publish failed: {}", sent->version, e.what());
      } catch (...) {
        log->error("health view {}: publish failed", sent->version);
      }
    }
    publishing = false;
  }

  void publish_if_changed() {
    auto v = build_view();
    if (current && current->registry == v->registry && current->checks == v->checks && current->members == v->members)
      return;
    publish(std::move(v));
  }

  void update_awaiting() {
    size_t n = 0;
    for (const auto& run : checks) n += run->probed() && !run->had_result;
    {
      std::lock_guard lock(round_mutex);
      awaiting_first = n;
    }
    round_cv.notify_all();
  }

  // ---- configuration ------------------------------------------------------------------------

  // Children ids, and a children-first evaluation order (Tarjan's strongly connected
  // components come out children first); members of a cycle are marked and stay Unknown.
  void resolve_graph() {
    by_name.clear();
    for (const auto& run : checks) by_name.emplace(run->def.name, run->id);
    for (const auto& run : checks) {
      run->children.clear();
      run->in_cycle = false;
      if (run->def.type != config::CheckType::Calculated) continue;
      for (const auto& child : run->def.children) {
        auto it = by_name.find(child);
        if (it == by_name.end()) log->warn("{}: child {} is not a configured check; it counts as unknown", run->subject(), dns::quote(child));
        run->children.push_back(it == by_name.end() ? -1 : static_cast<int>(it->second));
      }
    }
    order.clear();
    const size_t n = checks.size();
    std::vector<int> index(n, -1), low(n, 0);
    std::vector<bool> on_stack(n, false);
    std::vector<uint32_t> stack;
    int counter = 0;
    std::function<void(uint32_t)> visit = [&](uint32_t v) {
      index[v] = low[v] = counter++;
      stack.push_back(v);
      on_stack[v] = true;
      for (int c : checks[v]->children) {
        if (c < 0) continue;
        const auto w = static_cast<uint32_t>(c);
        if (index[w] < 0) {
          visit(w);
          low[v] = std::min(low[v], low[w]);
        } else if (on_stack[w]) {
          low[v] = std::min(low[v], index[w]);
        }
      }
      if (low[v] != index[v]) return;
      std::vector<uint32_t> scc;
      uint32_t w;
      do {
        w = stack.back();
        stack.pop_back();
        on_stack[w] = false;
        scc.push_back(w);
      } while (w != v);
      const auto& kids = checks[v]->children;
      const bool cycle = scc.size() > 1 || std::find(kids.begin(), kids.end(), static_cast<int>(v)) != kids.end();
      for (uint32_t m : scc) {
        checks[m]->in_cycle = cycle;
        order.push_back(m);
      }
      if (cycle) log->warn("{}: calculated checks form a cycle; they stay unknown", checks[v]->subject());
    };
    for (uint32_t v = 0; v < n; ++v) {
      if (index[v] < 0) visit(v);
    }
  }

  bool override_target_exists(const OverrideEntry& e) const {
    if (e.on_check) return by_name.count(e.check) != 0;
    return std::find(members.begin(), members.end(), e.member) != members.end();
  }

  void apply(uint64_t new_registry, std::vector<config::HealthCheck> defs,
             std::vector<std::shared_ptr<const ProbeSpec>> specs, std::vector<MemberKey> new_members) {
    std::unordered_map<std::string, std::shared_ptr<CheckRun>> old;
    for (auto& run : checks) old.emplace(run->def.name, run);
    std::vector<std::shared_ptr<CheckRun>> next;
    std::vector<std::shared_ptr<CheckRun>> fresh;
    next.reserve(defs.size());
    for (size_t i = 0; i < defs.size(); ++i) {
      std::shared_ptr<CheckRun> run;
      auto it = old.find(defs[i].name);
      if (it != old.end() && it->second && it->second->def.same_definition(defs[i])) {
        run = std::move(it->second);  // keeps state, schedule and any probe in flight
        run->def = std::move(defs[i]);
        // The spec was prepared again from the files as they are now: a renewed ca_file is
        // trusted from the next probe on, without resetting the check's state.
        run->spec = std::move(specs[i]);
      } else {
        run = std::make_shared<CheckRun>(io, std::move(defs[i]), std::move(specs[i]), [this] { return unit(rng); });
        fresh.push_back(run);
      }
      run->id = static_cast<uint32_t>(i);
      next.push_back(std::move(run));
    }
    size_t removed = 0;
    for (auto& [name, run] : old) {
      if (!run) continue;
      cancel_run(*run);  // its probe's completion finds it gone
      ++removed;
    }
    checks = std::move(next);
    members = std::move(new_members);
    registry = new_registry;
    resolve_graph();

    for (auto it = overrides.begin(); it != overrides.end();) {
      if (override_target_exists(it->second.entry)) {
        ++it;
        continue;
      }
      log->info("override {}: dropped, {} is no longer configured", it->first, override_target(it->second.entry));
      it = overrides.erase(it);
    }

    reevaluate();
    for (auto& run : fresh) {
      if (run->probed()) probe_now(run);  // new checks are probed at once
    }
    update_awaiting();
    publish(build_view());
    log->info("health registry {}: configured checks={} kept={} new={} removed={} members={}", registry, checks.size(),
              checks.size() - fresh.size(), fresh.size(), removed, members.size());
    old.clear();  // removed runs go now; their timers and probes were cancelled above
  }

  // ---- overrides ----------------------------------------------------------------------------

  Result<OverrideEntry> set_override(OverrideEntry e) {
    if (e.action == Override::None) return Error{"override: action none sets nothing; clear the override instead"};
    const auto now = Clock::now();
    if (e.until && *e.until <= now) return Error{"override: expiry " + format_time(*e.until) + " is in the past"};
    if (e.on_check) {
      e.member = MemberKey{};
      if (!by_name.count(e.check)) return Error{"override: no check named " + dns::quote(e.check)};
    } else {
      e.check.clear();
      if (!override_target_exists(e))
        return Error{"override: no member " + dns::quote(e.member.value) + " in record " + dns::quote(e.member.record)};
    }
    std::string replaced;
    for (auto it = overrides.begin(); it != overrides.end();) {
      const OverrideEntry& o = it->second.entry;
      const bool same = o.on_check == e.on_check && (e.on_check ? o.check == e.check : o.member == e.member);
      if (!same) {
        ++it;
        continue;
      }
      replaced = " replaces " + std::to_string(o.id);
      it = overrides.erase(it);
    }
    e.id = next_override_id++;
    e.created = now;
    OverrideSlot slot{e, nullptr};
    if (e.until) {
      slot.timer = std::make_unique<asio::system_timer>(io);
      slot.timer->expires_at(*e.until);
      slot.timer->async_wait([this, id = e.id](const error_code& ec) {
        if (ec || stopping) return;
        remove_override(id, "expired");
      });
    }
    overrides.emplace(e.id, std::move(slot));
    log->info("override {}: {} {}{}{}{}", e.id, override_target(e), override_name(e.action),
              e.until ? " until " + format_time(*e.until) : std::string(), replaced,
              e.reason.empty() ? std::string() : ": " + e.reason);
    reevaluate();
    publish_if_changed();
    return e;
  }

  bool remove_override(uint64_t id, const char* how) {
    auto it = overrides.find(id);
    if (it == overrides.end()) return false;
    const OverrideEntry e = it->second.entry;
    overrides.erase(it);  // destroys (and so cancels) its expiry timer
    log->info("override {}: {} {}", id, override_target(e), how);
    std::unordered_map<const CheckRun*, std::string> causes;
    if (e.on_check) {
      if (auto n = by_name.find(e.check); n != by_name.end())
        causes.emplace(checks[n->second].get(), "override " + std::to_string(id) + " " + how);
    }
    reevaluate(causes);
    publish_if_changed();
    return true;
  }

  EngineStatus status() const {
    EngineStatus s;
    s.view_version = version;
    s.checks.reserve(checks.size());
    for (const auto& run : checks) s.checks.push_back(run->status);
    std::sort(s.checks.begin(), s.checks.end(), [](const CheckStatus& a, const CheckStatus& b) { return a.name < b.name; });
    for (const auto& [id, slot] : overrides) s.overrides.push_back(slot.entry);
    return s;
  }

  // ---- members ------------------------------------------------------------------------------
  // Declaration order matters for destruction: the io_context goes last, after every timer.

  Publish publish_fn;
  asio::io_context io;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::thread thread;
  std::thread::id thread_id;
  std::promise<void> finished;
  std::shared_ptr<spdlog::logger> log = log::get("health");
  std::mt19937_64 rng{std::random_device{}()};
  std::uniform_real_distribution<double> unit{0.0, 1.0};

  // Engine thread only.
  bool stopping = false;
  bool publishing = false;  // inside publish_fn
  uint64_t registry = 0;
  uint64_t version = 0;
  std::shared_ptr<const HealthView> current;
  std::vector<std::shared_ptr<CheckRun>> checks;  // by id
  std::unordered_map<std::string, uint32_t> by_name;
  std::vector<uint32_t> order;  // children before parents
  std::vector<MemberKey> members;
  std::map<uint64_t, OverrideSlot> overrides;  // by id
  uint64_t next_override_id = 1;

  // Shared with wait_initial_round.
  std::mutex round_mutex;
  std::condition_variable round_cv;
  size_t awaiting_first = 0;
};

HealthEngine::HealthEngine(Publish publish) : impl_(std::make_unique<Impl>(std::move(publish))) { impl_->start(); }

HealthEngine::~HealthEngine() { impl_->stop(); }

void HealthEngine::configure(uint64_t registry, std::vector<config::HealthCheck> checks,
                             std::vector<MemberKey> members) {
  // Prepared here, on the caller's thread: reading a ca_file never delays a probe.
  std::vector<std::shared_ptr<const ProbeSpec>> specs;
  specs.reserve(checks.size());
  for (const auto& c : checks) {
    const bool probed = !c.disabled && c.type != config::CheckType::Calculated;
    specs.push_back(probed ? prepare_probe(c) : nullptr);
    if (probed && !probe_spec_error(*specs.back()).empty())
      impl_->log->warn("check {} {}: cannot probe: {}", c.name, c.target.to_string(), probe_spec_error(*specs.back()));
  }
  impl_->call([&] { impl_->apply(registry, std::move(checks), std::move(specs), std::move(members)); });
}

bool HealthEngine::wait_initial_round(std::chrono::milliseconds limit) {
  std::unique_lock lock(impl_->round_mutex);
  return impl_->round_cv.wait_for(lock, limit, [&] { return impl_->awaiting_first == 0; });
}

Result<OverrideEntry> HealthEngine::set_override(OverrideEntry request) {
  return impl_->call([&] { return impl_->set_override(std::move(request)); });
}

bool HealthEngine::clear_override(uint64_t id) {
  return impl_->call([&] { return impl_->remove_override(id, "cleared"); });
}

EngineStatus HealthEngine::status() const {
  return impl_->call([&] { return impl_->status(); });
}

}  // namespace pharos::health
