// The engine against real servers started on 127.0.0.1 port 0 by each test: verdicts, rise/fall,
// inversion, disabled and calculated checks, overrides, reconfiguration, the transition log,
// threading and detection time. Waits are bounded polls (liveness); the only timing
// assertions are upper bounds with generous slack.
#include "health/engine.h"

#include <dirent.h>

#include <deque>
#include <fstream>
#include <regex>
#include <set>

#include <catch2/catch.hpp>

#include "health/scheduler.h"
#include "health/state_machine.h"
#include "unit/health/test_servers.h"

using namespace pharos;
using namespace pharos::health;
using namespace pharos::health::test;
using config::CheckType;
using SteadyClock = std::chrono::steady_clock;

namespace {

using Checks = std::vector<config::HealthCheck>;

// Every view the engine publishes, in order, with the time it arrived.
class Views {
 public:
  HealthEngine::Publish callback() {
    return [this](std::shared_ptr<const HealthView> v) {
      std::lock_guard lock(mutex_);
      views_.push_back(std::move(v));
      times_.push_back(SteadyClock::now());
    };
  }
  std::vector<std::shared_ptr<const HealthView>> all() {
    std::lock_guard lock(mutex_);
    return views_;
  }
  std::shared_ptr<const HealthView> last() {
    std::lock_guard lock(mutex_);
    return views_.empty() ? nullptr : views_.back();
  }
  Health check(uint32_t id) {
    auto v = last();
    return v ? v->check(id) : Health::Unknown;
  }
  Override member(uint32_t id) {
    auto v = last();
    return v ? v->member(id) : Override::None;
  }
  // Waits for a published view in which check `id` is `h`; returns when it arrived.
  std::optional<SteadyClock::time_point> wait_check(uint32_t id, Health h, std::chrono::milliseconds limit = 10s) {
    std::optional<SteadyClock::time_point> at;
    wait_until(
        [&] {
          std::lock_guard lock(mutex_);
          if (!views_.empty() && views_.back()->check(id) == h) at = times_.back();
          return at.has_value();
        },
        limit);
    return at;
  }
  bool wait_member(uint32_t id, Override o, std::chrono::milliseconds limit = 10s) {
    return wait_until([&] { return member(id) == o; }, limit);
  }

 private:
  std::mutex mutex_;
  std::vector<std::shared_ptr<const HealthView>> views_;
  std::vector<SteadyClock::time_point> times_;
};

CheckStatus find(const EngineStatus& s, const std::string& name) {
  for (const auto& c : s.checks) {
    if (c.name == name) return c;
  }
  FAIL("no check named " << name << " in status()");
  return {};
}

CheckStatus status_of(HealthEngine& e, const std::string& name) { return find(e.status(), name); }

// Waits until check `name` has had at least `n` probe results.
bool wait_probes(HealthEngine& e, const std::string& name, uint64_t n) {
  return wait_until([&] { return status_of(e, name).probes >= n; });
}

config::HealthCheck tcp_check(const std::string& name, uint16_t port) {
  auto c = make_check(name, CheckType::Tcp, port);
  c.timeout = 1s;
  return c;
}

config::HealthCheck calculated(const std::string& name, std::vector<std::string> children, unsigned min_healthy) {
  config::HealthCheck c;
  c.name = name;
  c.type = CheckType::Calculated;
  c.children = std::move(children);
  c.min_healthy = min_healthy;
  return c;
}

// "healthy -> unhealthy after 3 failures: status 503", as the log and the history say it.
std::string describe(const CheckStatus::Transition& t) {
  std::string s = std::string(health_name(t.from)) + " -> " + health_name(t.to);
  if (t.reason.empty()) return s;
  return s + (t.reason.rfind("after ", 0) == 0 ? " " : ": ") + t.reason;
}

std::vector<std::string> transitions(const CheckStatus& c) {
  std::vector<std::string> out;
  for (const auto& t : c.history) out.push_back(describe(t));
  return out;
}

size_t count_lines(const std::string& text) {
  size_t n = 0;
  for (const auto& l : health_log().lines()) n += l.find(text) != std::string::npos;
  return n;
}

bool has(const std::string& haystack, const std::string& needle) { return haystack.find(needle) != std::string::npos; }

MemberKey member(const std::string& record, const std::string& value) { return MemberKey{record, value}; }

OverrideEntry on_check(const std::string& check, Override action, const std::string& reason = "") {
  OverrideEntry e;
  e.on_check = true;
  e.check = check;
  e.action = action;
  e.reason = reason;
  return e;
}

OverrideEntry on_member(const MemberKey& m, Override action, const std::string& reason = "") {
  OverrideEntry e;
  e.member = m;
  e.action = action;
  e.reason = reason;
  return e;
}

// An HTTP server whose answers the test scripts: each request takes the next (status, body);
// the last one is repeated.
class ScriptedHttp {
 public:
  ScriptedHttp()
      : server_([this](const std::string&) {
          std::lock_guard lock(mutex_);
          auto [status, body] = script_.front();
          if (script_.size() > 1) script_.pop_front();
          return http_response(status, body);
        }) {}
  void set(std::deque<std::pair<unsigned, std::string>> script) {
    std::lock_guard lock(mutex_);
    script_ = std::move(script);
  }
  void set(unsigned status, const std::string& body) { set({{status, body}}); }
  uint16_t port() const { return server_.port(); }
  HttpServer& server() { return server_; }

 private:
  std::mutex mutex_;
  std::deque<std::pair<unsigned, std::string>> script_{{200, "ok"}};
  HttpServer server_;  // last: its thread calls into the script
};

}  // namespace

// ---- threading and first verdicts -------------------------------------------------------------

TEST_CASE("health: engine runs on a thread named pharos-health and stops it", "[health]") {
  health_log();
  // The ids of this process's threads named pharos-health.
  auto engine_threads = [] {
    std::set<std::string> out;
    DIR* d = opendir("/proc/self/task");
    REQUIRE(d != nullptr);
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] == '.') continue;
      std::ifstream f(std::string("/proc/self/task/") + e->d_name + "/comm");
      std::string n;
      std::getline(f, n);
      if (n == "pharos-health") out.insert(e->d_name);
    }
    closedir(d);
    return out;
  };
  const auto before = engine_threads();  // an earlier engine's thread may linger in /proc a moment
  std::string tid;
  {
    HealthEngine engine(nullptr);
    std::vector<std::string> fresh;
    for (const auto& t : engine_threads()) {
      if (!before.count(t)) fresh.push_back(t);
    }
    REQUIRE(fresh.size() == 1);
    tid = fresh[0];
  }
  // Joined by the destructor; the kernel drops the task from /proc a moment after the join.
  CHECK(wait_until([&] { return engine_threads().count(tid) == 0; }, 5s));
}

TEST_CASE("health: engine gives every check a first verdict, wait_initial_round returns once all have one",
          "[health]") {
  health_log();
  TcpListener up;
  ClosedPort down;
  ScriptedHttp web;
  Views views;
  HealthEngine engine(views.callback());
  auto off = tcp_check("first-off", down.port());
  off.disabled = true;
  engine.configure(1, {tcp_check("first-up", up.port()), tcp_check("first-down", down.port()),
                       make_check("first-web", CheckType::Http, web.port()), off,
                       calculated("first-any", {"first-up", "first-down"}, 1)},
                   {});
  // The view published by configure() itself: probed checks are Unknown until their first result.
  auto first = views.all().front();
  CHECK(first->registry == 1);
  CHECK(first->checks == std::vector<Health>{Health::Unknown, Health::Unknown, Health::Unknown, Health::Healthy,
                                              Health::Unknown});
  CHECK(engine.wait_initial_round(10s));
  CHECK(status_of(engine, "first-up").effective == Health::Healthy);
  CHECK(status_of(engine, "first-up").last_reason == "connected");
  CHECK(status_of(engine, "first-down").effective == Health::Unhealthy);
  CHECK(status_of(engine, "first-down").last_reason == "connect refused");
  CHECK(status_of(engine, "first-web").effective == Health::Healthy);
  CHECK(status_of(engine, "first-off").effective == Health::Healthy);
  CHECK(status_of(engine, "first-any").effective == Health::Healthy);
  REQUIRE(views.wait_check(2, Health::Healthy));
  CHECK(views.last()->checks ==
        std::vector<Health>{Health::Healthy, Health::Unhealthy, Health::Healthy, Health::Healthy, Health::Healthy});
}

TEST_CASE("health: wait_initial_round is bounded by its limit, an unanswered check stays unknown", "[health]") {
  health_log();
  TcpListener up;
  FullBacklog never;
  Views views;
  HealthEngine engine(views.callback());
  auto hang = tcp_check("bounded-hang", never.port());
  hang.timeout = 60s;
  engine.configure(1, {tcp_check("bounded-up", up.port()), hang}, {});
  const auto t0 = SteadyClock::now();
  CHECK_FALSE(engine.wait_initial_round(200ms));
  CHECK(SteadyClock::now() - t0 < 5s);  // loose: it returned near its limit, not at the timeout
  REQUIRE(views.wait_check(0, Health::Healthy));
  CHECK(status_of(engine, "bounded-hang").effective == Health::Unknown);
  CHECK(status_of(engine, "bounded-hang").probes == 0);
  CHECK(views.check(1) == Health::Unknown);
}

TEST_CASE("health: wait_initial_round returns at once with nothing to probe", "[health]") {
  health_log();
  HealthEngine engine(nullptr);
  CHECK(engine.wait_initial_round(0ms));
  auto off = tcp_check("nothing-off", 9);
  off.disabled = true;
  engine.configure(1, {off}, {});
  CHECK(engine.wait_initial_round(0ms));
}

TEST_CASE("health: destroying the engine cancels probes in flight at once", "[health]") {
  health_log();
  FullBacklog never;
  auto hang = tcp_check("destroy-hang", never.port());
  hang.timeout = 60s;
  auto engine = std::make_unique<HealthEngine>(nullptr);
  engine->configure(1, {hang}, {});
  CHECK_FALSE(engine->wait_initial_round(50ms));
  const auto t0 = SteadyClock::now();
  engine.reset();
  CHECK(SteadyClock::now() - t0 < 4s);  // loose; a probe that ignored the cancel would hold it 5s
}

// ---- rise, fall, inverted, disabled ----------------------------------------------------------

TEST_CASE("health: rise and fall count consecutive results (anti-flap)", "[health]") {
  health_log();
  struct Case {
    const char* what;
    std::deque<unsigned> statuses;  // one per probe; the last is repeated
    std::vector<std::string> expected;
  };
  const std::vector<Case> cases = {
      {"the first result decides at once", {503}, {"unknown -> unhealthy: status 503"}},
      {"fall consecutive failures flip a healthy check",
       {200, 503, 503, 503},
       {"unknown -> healthy: status 200", "healthy -> unhealthy after 3 failures: status 503"}},
      {"a success resets a run of failures",
       {200, 503, 503, 200, 503, 503, 200},
       {"unknown -> healthy: status 200"}},
      {"rise consecutive successes bring it back",
       {200, 503, 503, 503, 200, 503, 200, 200},
       {"unknown -> healthy: status 200", "healthy -> unhealthy after 3 failures: status 503",
        "unhealthy -> healthy after 2 successes: status 200"}},
      {"a failure resets a run of successes", {503, 200, 503, 200, 503}, {"unknown -> unhealthy: status 503"}},
  };
  for (const Case& c : cases) {
    DYNAMIC_SECTION(c.what) {
      ScriptedHttp web;
      std::deque<std::pair<unsigned, std::string>> script;
      for (unsigned s : c.statuses) script.emplace_back(s, "");
      web.set(script);
      HealthEngine engine(nullptr);
      auto check = make_check("flap", CheckType::Http, web.port());
      check.rise = 2;
      check.fall = 3;
      engine.configure(1, {check}, {});
      // Every scripted result and one repetition of the last.
      REQUIRE(wait_probes(engine, "flap", c.statuses.size() + 1));
      CHECK(transitions(status_of(engine, "flap")) == c.expected);
    }
  }
}

TEST_CASE("health: inverted checks report the opposite of their probes", "[health]") {
  health_log();
  TcpListener up;
  ClosedPort down;
  struct Case {
    const char* name;
    bool target_up;
    bool inverted;
    Health raw;
    Health effective;
  };
  const std::vector<Case> cases = {
      {"inv-plain-up", true, false, Health::Healthy, Health::Healthy},
      {"inv-plain-down", false, false, Health::Unhealthy, Health::Unhealthy},
      {"inv-inverted-up", true, true, Health::Healthy, Health::Unhealthy},
      {"inv-inverted-down", false, true, Health::Unhealthy, Health::Healthy},
  };
  Checks checks;
  for (const Case& c : cases) {
    auto check = tcp_check(c.name, c.target_up ? up.port() : down.port());
    check.inverted = c.inverted;
    checks.push_back(check);
  }
  Views views;
  HealthEngine engine(views.callback());
  engine.configure(1, checks, {});
  REQUIRE(engine.wait_initial_round(10s));
  for (size_t i = 0; i < cases.size(); ++i) {
    INFO(cases[i].name);
    auto st = status_of(engine, cases[i].name);
    CHECK(st.raw == cases[i].raw);
    CHECK(st.effective == cases[i].effective);
    CHECK(views.check(static_cast<uint32_t>(i)) == cases[i].effective);
  }
  CHECK(count_lines("check inv-inverted-up 127.0.0.1:" + std::to_string(up.port()) +
                    ": unknown -> unhealthy: connected (inverted)") == 1);
}

TEST_CASE("health: a disabled check counts as healthy and is never probed", "[health]") {
  health_log();
  TcpListener target;
  ClosedPort down;
  TcpListener other;
  struct Case {
    const char* name;
    uint16_t port;
    bool inverted;
  };
  const std::vector<Case> cases = {
      {"dis-up", target.port(), false}, {"dis-down", down.port(), false}, {"dis-inverted", target.port(), true}};
  Checks checks;
  for (const Case& c : cases) {
    auto check = tcp_check(c.name, c.port);
    check.disabled = true;
    check.inverted = c.inverted;
    checks.push_back(check);
  }
  checks.push_back(tcp_check("dis-witness", other.port()));
  Views views;
  HealthEngine engine(views.callback());
  engine.configure(1, checks, {});
  CHECK(engine.wait_initial_round(10s));
  // Let the witness run a few rounds: the disabled checks would have been probed by then.
  REQUIRE(wait_probes(engine, "dis-witness", 4));
  for (size_t i = 0; i < cases.size(); ++i) {
    INFO(cases[i].name);
    auto st = status_of(engine, cases[i].name);
    CHECK(st.effective == Health::Healthy);
    CHECK(st.probes == 0);
    CHECK(views.check(static_cast<uint32_t>(i)) == Health::Healthy);
  }
  CHECK(target.accepted() == 0);
}

// ---- calculated --------------------------------------------------------------------------------

TEST_CASE("health: calculated checks need min_healthy healthy children (N of M, AND, OR, unknown)", "[health]") {
  health_log();
  TcpListener up1, up2;
  ClosedPort down1, down2;
  FullBacklog never;
  auto unk = tcp_check("unk", never.port());
  unk.timeout = 60s;
  auto dis = tcp_check("dis", down1.port());
  dis.disabled = true;
  Checks leaves{tcp_check("up1", up1.port()), tcp_check("up2", up2.port()), tcp_check("down1", down1.port()),
                tcp_check("down2", down2.port()), unk, dis};
  struct Case {
    const char* name;
    std::vector<std::string> children;
    unsigned min_healthy;
    bool inverted;
    Health expected;
  };
  const std::vector<Case> cases = {
      {"n-of-m-enough", {"up1", "up2", "down1"}, 2, false, Health::Healthy},
      {"n-of-m-short", {"up1", "down1", "down2"}, 2, false, Health::Unhealthy},
      {"and-all-up", {"up1", "up2"}, 2, false, Health::Healthy},
      {"and-one-down", {"up1", "down1"}, 2, false, Health::Unhealthy},
      {"or-one-up", {"down1", "up1"}, 1, false, Health::Healthy},
      {"or-all-down", {"down1", "down2"}, 1, false, Health::Unhealthy},
      {"unknown-outvoted-healthy", {"up1", "unk"}, 1, false, Health::Healthy},
      {"unknown-decides", {"up1", "unk"}, 2, false, Health::Unknown},
      {"unknown-cannot-save", {"down1", "down2", "unk"}, 2, false, Health::Unhealthy},
      {"disabled-child-healthy", {"dis", "down1"}, 1, false, Health::Healthy},
      {"nested", {"or-one-up", "and-all-up"}, 2, false, Health::Healthy},
      {"inverted-or-all-down", {"down1", "down2"}, 1, true, Health::Healthy},
  };
  Checks checks = leaves;
  for (const Case& c : cases) {
    auto check = calculated(c.name, c.children, c.min_healthy);
    check.inverted = c.inverted;
    checks.push_back(check);
  }
  Views views;
  HealthEngine engine(views.callback());
  engine.configure(1, checks, {});
  REQUIRE(wait_until([&] {
    auto s = engine.status();
    for (const char* leaf : {"up1", "up2", "down1", "down2"}) {
      if (find(s, leaf).effective == Health::Unknown) return false;
    }
    return true;
  }));
  for (size_t i = 0; i < cases.size(); ++i) {
    INFO(cases[i].name);
    CHECK(status_of(engine, cases[i].name).effective == cases[i].expected);
    CHECK(views.check(static_cast<uint32_t>(leaves.size() + i)) == cases[i].expected);
  }

  SECTION("a child's transition moves its parents at once, with the count as the reason") {
    up1.stop();
    const uint32_t and_all_up = static_cast<uint32_t>(leaves.size() + 2);
    REQUIRE(views.wait_check(and_all_up, Health::Unhealthy));
    CHECK(count_lines("check and-all-up: healthy -> unhealthy: 1 of 2 children healthy, min_healthy 2") == 1);
    CHECK(status_of(engine, "n-of-m-enough").effective == Health::Unhealthy);
    CHECK(status_of(engine, "or-one-up").effective == Health::Unhealthy);
    CHECK(status_of(engine, "unknown-outvoted-healthy").effective == Health::Unknown);
    CHECK(status_of(engine, "nested").effective == Health::Unhealthy);
  }
}

// ---- overrides ---------------------------------------------------------------------------------

TEST_CASE("health: overrides on a check force its state until cleared", "[health]") {
  health_log();
  TcpListener up;
  ClosedPort down;
  struct Case {
    const char* name;
    bool target_up;
    Override action;
    Health forced;
  };
  const std::vector<Case> cases = {
      {"ovr-up-on-down", false, Override::Up, Health::Healthy},
      {"ovr-down-on-up", true, Override::Down, Health::Unhealthy},
      {"ovr-drain-on-up", true, Override::Drain, Health::Unhealthy},
  };
  for (const Case& c : cases) {
    DYNAMIC_SECTION(c.name) {
      Views views;
      HealthEngine engine(views.callback());
      const Health natural = c.target_up ? Health::Healthy : Health::Unhealthy;
      const std::string subject = std::string("check ") + c.name + " 127.0.0.1:" +
                                  std::to_string(c.target_up ? up.port() : down.port());
      engine.configure(1, {tcp_check(c.name, c.target_up ? up.port() : down.port())}, {});
      REQUIRE(views.wait_check(0, natural));

      auto set = engine.set_override(on_check(c.name, c.action, "maintenance"));
      REQUIRE(set);
      CHECK(set->id > 0);
      CHECK(set->on_check);
      CHECK(views.check(0) == c.forced);  // published before set_override returns
      auto st = engine.status();
      REQUIRE(st.overrides.size() == 1);
      CHECK(st.overrides[0].id == set->id);
      CHECK(st.overrides[0].action == c.action);
      CHECK(st.overrides[0].reason == "maintenance");
      CHECK_FALSE(st.overrides[0].until.has_value());
      CHECK(find(st, c.name).effective == c.forced);
      CHECK(find(st, c.name).raw == natural);
      CHECK(count_lines(subject + ": " + health_name(natural) + " -> " + health_name(c.forced) + ": override ") == 1);

      // Probes go on underneath, without moving the effective state.
      const auto probes = status_of(engine, c.name).probes;
      REQUIRE(wait_probes(engine, c.name, probes + 3));
      CHECK(views.check(0) == c.forced);

      CHECK(engine.clear_override(set->id));
      CHECK(views.check(0) == natural);
      CHECK(engine.status().overrides.empty());
      CHECK(count_lines(subject + ": " + health_name(c.forced) + " -> " + health_name(natural) + ": override " +
                        std::to_string(set->id) + " cleared") == 1);
      CHECK_FALSE(engine.clear_override(set->id));
    }
  }
}

TEST_CASE("health: overrides on members are published by member id and replace each other", "[health]") {
  health_log();
  Views views;
  HealthEngine engine(views.callback());
  auto off = tcp_check("mem-check", 9);
  off.disabled = true;
  const std::vector<MemberKey> members{member("www.example.com. A", "192.0.2.10"),
                                       member("www.example.com. A", "192.0.2.11"), member("pool", "192.0.2.11")};
  engine.configure(1, {off}, members);
  CHECK(views.last()->members == std::vector<Override>(3, Override::None));

  auto drain = engine.set_override(on_member(members[1], Override::Drain, "deploy"));
  REQUIRE(drain);
  CHECK(views.last()->members == std::vector<Override>{Override::None, Override::Drain, Override::None});
  CHECK(views.check(0) == Health::Healthy);  // a member override leaves the checks alone

  auto up = engine.set_override(on_member(members[1], Override::Up));
  REQUIRE(up);
  CHECK(up->id != drain->id);
  CHECK(views.member(1) == Override::Up);
  auto st = engine.status();
  REQUIRE(st.overrides.size() == 1);  // the second replaced the first
  CHECK(st.overrides[0].id == up->id);
  CHECK_FALSE(st.overrides[0].on_check);
  CHECK(st.overrides[0].member == members[1]);
  CHECK_FALSE(engine.clear_override(drain->id));

  auto down = engine.set_override(on_member(members[0], Override::Down));
  REQUIRE(down);
  CHECK(views.last()->members == std::vector<Override>{Override::Down, Override::Up, Override::None});
  CHECK(engine.status().overrides.size() == 2);
  CHECK(engine.clear_override(up->id));
  CHECK(views.last()->members == std::vector<Override>{Override::Down, Override::None, Override::None});
}

TEST_CASE("health: overrides that cannot apply are refused", "[health]") {
  health_log();
  HealthEngine engine(nullptr);
  auto off = tcp_check("refuse-check", 9);
  off.disabled = true;
  engine.configure(1, {off}, {member("r", "192.0.2.1")});
  struct Case {
    const char* what;
    OverrideEntry request;
    std::string error;
  };
  auto past = on_check("refuse-check", Override::Down);
  past.until = Clock::now() - 1s;
  const std::vector<Case> cases = {
      {"unknown check", on_check("nope", Override::Down), "override: no check named \"nope\""},
      {"unknown member", on_member(member("r", "192.0.2.2"), Override::Down),
       "override: no member \"192.0.2.2\" in record \"r\""},
      {"action none", on_check("refuse-check", Override::None),
       "override: action none sets nothing; clear the override instead"},
      {"expiry in the past", past, "override: expiry "},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    auto r = engine.set_override(c.request);
    REQUIRE_FALSE(r);
    CHECK(r.error().message.rfind(c.error, 0) == 0);
  }
  CHECK(engine.status().overrides.empty());
}

TEST_CASE("health: an override with an expiry is removed when it expires, and the view follows", "[health]") {
  health_log();
  TcpListener up;
  Views views;
  HealthEngine engine(views.callback());
  const std::vector<MemberKey> members{member("exp", "192.0.2.1")};
  engine.configure(1, {tcp_check("exp-check", up.port())}, members);
  REQUIRE(views.wait_check(0, Health::Healthy));

  auto c = on_check("exp-check", Override::Down, "short");
  c.until = Clock::now() + 300ms;
  auto m = on_member(members[0], Override::Drain);
  m.until = Clock::now() + 300ms;
  auto set_c = engine.set_override(c);
  auto set_m = engine.set_override(m);
  REQUIRE(set_c);
  REQUIRE(set_m);
  CHECK(views.check(0) == Health::Unhealthy);
  CHECK(views.member(0) == Override::Drain);
  auto listed = engine.status().overrides;
  REQUIRE(listed.size() == 2);
  CHECK(listed[0].until == c.until);

  REQUIRE(views.wait_check(0, Health::Healthy));
  REQUIRE(views.wait_member(0, Override::None));
  CHECK(engine.status().overrides.empty());
  CHECK(count_lines("override " + std::to_string(set_c->id) + ": check exp-check expired") == 1);
  CHECK(count_lines("check exp-check 127.0.0.1:" + std::to_string(up.port()) +
                    ": unhealthy -> healthy: override " + std::to_string(set_c->id) + " expired") == 1);
  CHECK_FALSE(engine.clear_override(set_c->id));
}

TEST_CASE("health: an override kept while probes change reports them without a transition", "[health]") {
  health_log();
  TcpListener up;
  Views views;
  HealthEngine engine(views.callback());
  engine.configure(1, {tcp_check("held", up.port())}, {});
  REQUIRE(views.wait_check(0, Health::Healthy));
  auto set = engine.set_override(on_check("held", Override::Up, "pinned"));
  REQUIRE(set);
  const auto published = views.all().size();
  up.stop();
  REQUIRE(wait_until([&] { return status_of(engine, "held").raw == Health::Unhealthy; }));
  CHECK(views.check(0) == Health::Healthy);
  CHECK(views.all().size() == published);  // nothing changed for the query path
  const std::string subject = "check held 127.0.0.1:" + std::to_string(up.port());
  CHECK(count_lines(subject + ": probes say healthy -> unhealthy after 1 failure: connect refused (stays healthy: "
                              "override up (id " +
                    std::to_string(set->id) + "): pinned)") == 1);
  CHECK(count_lines(subject + ": healthy -> unhealthy") == 0);
  engine.clear_override(set->id);
  CHECK(views.check(0) == Health::Unhealthy);
  CHECK(count_lines(subject + ": healthy -> unhealthy: override " + std::to_string(set->id) + " cleared") == 1);
}

// ---- reconfiguration ---------------------------------------------------------------------------

TEST_CASE("health: reconfigure keeps unchanged checks, starts new ones at once and stops removed ones",
          "[health]") {
  health_log();
  TcpListener a_target, c_target, d_target;
  ClosedPort b_target;
  Views views;
  HealthEngine engine(views.callback());
  auto a = tcp_check("keep-a", a_target.port());
  a.line = 10;
  auto d = tcp_check("keep-d", d_target.port());
  engine.configure(1, {a, tcp_check("keep-c", c_target.port()), d}, {});
  REQUIRE(engine.wait_initial_round(10s));
  REQUIRE(wait_probes(engine, "keep-a", 3));
  const auto a_before = status_of(engine, "keep-a");
  const auto published = views.all().size();

  // keep-a moves to another position and line (same definition); keep-b is new; keep-c goes;
  // keep-d changes its definition.
  a.line = 20;
  d.interval = 30ms;
  engine.configure(2, {tcp_check("keep-b", b_target.port()), a, d}, {});
  const size_t c_accepted = c_target.accepted();
  // The view configure() published (probe results may have followed it already).
  auto views_now = views.all();
  REQUIRE(views_now.size() > published);
  const auto& at_configure = *views_now[published];
  CHECK(at_configure.registry == 2);
  CHECK(at_configure.checks == std::vector<Health>{Health::Unknown, Health::Healthy, Health::Unknown});

  CHECK(engine.wait_initial_round(10s));
  auto st = engine.status();
  REQUIRE(st.checks.size() == 3);
  CHECK(find(st, "keep-b").effective == Health::Unhealthy);
  const auto a_after = find(st, "keep-a");
  CHECK(a_after.effective == Health::Healthy);
  CHECK(a_after.probes >= a_before.probes);
  CHECK(a_after.transitions == a_before.transitions);
  CHECK(a_after.since == a_before.since);
  CHECK(find(st, "keep-d").transitions == 1);  // a fresh start: unknown -> healthy again

  // keep-a runs on; keep-c is not probed any more (one probe may have been on its way).
  REQUIRE(wait_probes(engine, "keep-a", a_after.probes + 4));
  CHECK(c_target.accepted() <= c_accepted + 1);
  CHECK(views.check(1) == Health::Healthy);
  CHECK(count_lines("health registry 2: configured checks=3 kept=1 new=2 removed=2") == 1);
}

TEST_CASE("health: overrides on checks and members that vanish are dropped on reconfigure", "[health]") {
  health_log();
  Views views;
  HealthEngine engine(views.callback());
  auto mk = [](const std::string& name) {
    auto c = tcp_check(name, 9);
    c.disabled = true;
    return c;
  };
  const MemberKey m_keep = member("rec", "192.0.2.1"), m_gone = member("rec", "192.0.2.2");
  engine.configure(1, {mk("van-keep"), mk("van-gone")}, {m_keep, m_gone});
  auto o1 = engine.set_override(on_check("van-keep", Override::Down));
  auto o2 = engine.set_override(on_check("van-gone", Override::Down));
  auto o3 = engine.set_override(on_member(m_keep, Override::Drain));
  auto o4 = engine.set_override(on_member(m_gone, Override::Drain));
  REQUIRE((o1 && o2 && o3 && o4));
  CHECK(engine.status().overrides.size() == 4);

  engine.configure(2, {mk("van-keep")}, {m_keep});
  auto st = engine.status();
  REQUIRE(st.overrides.size() == 2);
  CHECK(st.overrides[0].id == o1->id);
  CHECK(st.overrides[1].id == o3->id);
  CHECK(views.last()->checks == std::vector<Health>{Health::Unhealthy});
  CHECK(views.last()->members == std::vector<Override>{Override::Drain});
  CHECK(count_lines("override " + std::to_string(o2->id) + ": dropped, check van-gone is no longer configured") == 1);
  CHECK(count_lines("override " + std::to_string(o4->id) + ": dropped, member") == 1);

  // Configured again later, the check does not get its old override back.
  engine.configure(3, {mk("van-keep"), mk("van-gone")}, {m_keep, m_gone});
  CHECK(views.last()->checks == std::vector<Health>{Health::Unhealthy, Health::Healthy});
  CHECK(views.last()->members == std::vector<Override>{Override::Drain, Override::None});
}

// ---- probe types through the engine --------------------------------------------------------

TEST_CASE("health: an http check follows the status and the body the server switches to", "[health]") {
  health_log();
  ScriptedHttp web;
  Views views;
  HealthEngine engine(views.callback());
  auto c = make_check("web-switch", CheckType::Http, web.port());
  c.path = "/healthz";
  c.host = "app.test";
  c.headers = {{"X-Probe", "pharos"}};
  c.expect_status = {{200, 299}};
  c.expect_body = "ok";
  engine.configure(1, {c}, {});
  REQUIRE(views.wait_check(0, Health::Healthy));
  const std::string request = web.server().requests().front();
  CHECK(request.rfind("GET /healthz HTTP/1.1\r\n", 0) == 0);
  CHECK(has(request, "\r\nHost: app.test:" + std::to_string(web.port()) + "\r\n"));
  CHECK(has(request, "\r\nX-Probe: pharos\r\n"));

  web.set(200, "maintenance");
  REQUIRE(views.wait_check(0, Health::Unhealthy));
  web.set(200, "all ok");
  REQUIRE(views.wait_check(0, Health::Healthy));
  web.set(302, "ok");
  REQUIRE(views.wait_check(0, Health::Unhealthy));
  CHECK(transitions(status_of(engine, "web-switch")) ==
        std::vector<std::string>{"unknown -> healthy: status 200, body has \"ok\"",
                                 "healthy -> unhealthy after 1 failure: body lacks \"ok\"",
                                 "unhealthy -> healthy after 1 success: status 200, body has \"ok\"",
                                 "healthy -> unhealthy after 1 failure: status 302"});
}

TEST_CASE("health: an https check verifies against ca_file, fails without it, passes with verify off", "[health]") {
  health_log();
  TestPki pki;
  HttpServer server([](const std::string&) { return http_response(200, "ok"); }, &pki.leaf);
  HttpServer self_signed([](const std::string&) { return http_response(200, "ok"); }, &pki.self_signed);
  struct Case {
    const char* name;
    uint16_t port;
    std::string ca_file;
    bool verify;
    std::string host;
    Health expected;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {"tls-ca-file", server.port(), pki.ca_file, true, "health.test", Health::Healthy, "status 200"},
      {"tls-ca-file-address", server.port(), pki.ca_file, true, "", Health::Healthy, "status 200"},
      {"tls-system-store", server.port(), "", true, "health.test", Health::Unhealthy,
       "tls: certificate verify failed (unable to get local issuer certificate)"},
      {"tls-wrong-name", server.port(), pki.ca_file, true, "other.test", Health::Unhealthy,
       "tls: certificate verify failed (hostname mismatch)"},
      {"tls-verify-off", server.port(), "", false, "other.test", Health::Healthy, "status 200"},
      {"tls-self-signed", self_signed.port(), pki.ca_file, true, "health.test", Health::Unhealthy,
       "tls: certificate verify failed (self-signed certificate)"},
      {"tls-self-signed-verify-off", self_signed.port(), "", false, "health.test", Health::Healthy, "status 200"},
  };
  Checks checks;
  for (const Case& c : cases) {
    auto check = make_check(c.name, CheckType::Https, c.port);
    check.interval = 1s;  // only the first verdicts count here; spare the CPU the handshakes
    check.ca_file = c.ca_file;
    check.tls_verify = c.verify;
    check.host = c.host;
    checks.push_back(check);
  }
  HealthEngine engine(nullptr);
  engine.configure(1, checks, {});
  REQUIRE(engine.wait_initial_round(10s));
  auto st = engine.status();
  for (const Case& c : cases) {
    INFO(c.name);
    CHECK(find(st, c.name).effective == c.expected);
    CHECK(find(st, c.name).last_reason == c.reason);
  }
}

TEST_CASE("health: a reload reads a rewritten ca_file again and keeps the check's state", "[health]") {
  health_log();
  TestPki pki, other;
  HttpServer server([](const std::string&) { return http_response(200, "ok"); }, &pki.leaf);
  auto check = make_check("tls-renewed-ca", CheckType::Https, server.port());
  check.interval = 50ms;
  check.host = "health.test";
  check.ca_file = pki.ca_file;
  Views views;
  HealthEngine engine(views.callback());
  engine.configure(1, {check}, {});
  REQUIRE(views.wait_check(0, Health::Healthy));
  const auto before = status_of(engine, "tls-renewed-ca");

  // Same definition, same path, other content: the check is kept (no new start from unknown)
  // and its next probes trust only the new CA, which did not sign the server's certificate.
  std::ifstream in(other.ca_file);
  std::stringstream pem;
  pem << in.rdbuf();
  pki.dir.write("ca.pem", pem.str());
  engine.configure(2, {check}, {});
  CHECK(views.last()->checks == std::vector<Health>{Health::Healthy});
  REQUIRE(views.wait_check(0, Health::Unhealthy));
  const auto after = status_of(engine, "tls-renewed-ca");
  CHECK(after.transitions == before.transitions + 1);
  // Both test CAs have the same name: the new one is found as issuer, and its key does not match.
  CHECK(after.last_reason == "tls: certificate verify failed (certificate signature failure)");
  CHECK(count_lines("health registry 2: configured checks=1 kept=1 new=0 removed=0") == 1);
}

TEST_CASE("health: a dns check follows the rcode and the answer of a real responder", "[health]") {
  health_log();
  std::mutex mutex;
  uint16_t rcode = 0;
  std::vector<uint8_t> address{192, 0, 2, 10};
  bool silent = false;
  DnsResponder server([&](const std::vector<uint8_t>& query) -> std::vector<std::vector<uint8_t>> {
    std::lock_guard lock(mutex);
    if (silent) return {};
    return {dns_reply(query, rcode, rcode ? std::vector<TestRecord>{} : std::vector<TestRecord>{{dns::type::A, address}})};
  });
  auto set = [&](uint16_t r, std::vector<uint8_t> a, bool quiet) {
    std::lock_guard lock(mutex);
    rcode = r;
    address = std::move(a);
    silent = quiet;
  };
  auto c = make_check("dns-switch", CheckType::Dns, server.port());
  c.query_name = "www.example.com.";
  c.query_type = dns::type::A;
  c.expect_answer = "192.0.2.10";
  c.timeout = 200ms;
  Views views;
  HealthEngine engine(views.callback());
  engine.configure(1, {c}, {});
  REQUIRE(views.wait_check(0, Health::Healthy));
  set(0, {192, 0, 2, 99}, false);
  REQUIRE(views.wait_check(0, Health::Unhealthy));
  set(0, {192, 0, 2, 10}, false);
  REQUIRE(views.wait_check(0, Health::Healthy));
  set(2, {}, false);
  REQUIRE(views.wait_check(0, Health::Unhealthy));
  set(0, {192, 0, 2, 10}, false);
  REQUIRE(views.wait_check(0, Health::Healthy));
  set(0, {192, 0, 2, 10}, true);
  REQUIRE(views.wait_check(0, Health::Unhealthy));
  CHECK(transitions(status_of(engine, "dns-switch")) ==
        std::vector<std::string>{"unknown -> healthy: rcode NOERROR, answer 192.0.2.10",
                                 "healthy -> unhealthy after 1 failure: no answer matches \"192.0.2.10\"",
                                 "unhealthy -> healthy after 1 success: rcode NOERROR, answer 192.0.2.10",
                                 "healthy -> unhealthy after 1 failure: rcode SERVFAIL, expected NOERROR",
                                 "unhealthy -> healthy after 1 success: rcode NOERROR, answer 192.0.2.10",
                                 "healthy -> unhealthy after 1 failure: timeout waiting for reply"});
}

TEST_CASE("health: at most one probe per check is in flight, even when probes outlast the interval", "[health]") {
  health_log();
  HttpServer stall([](const std::string&) { return HttpReply{"HTTP/1.1 200 OK\r\n", "", true}; });
  auto c = make_check("slow", CheckType::Http, stall.port());
  c.interval = 10ms;
  c.timeout = 100ms;
  HealthEngine engine(nullptr);
  engine.configure(1, {c}, {});
  REQUIRE(wait_probes(engine, "slow", 4));
  const auto st = status_of(engine, "slow");
  CHECK(st.last_reason == "timeout reading response");
  // With overlapping probes the server would see about ten connections per finished probe.
  CHECK(stall.connections() <= st.probes + 1);
}

// ---- the transition log and detection time ---------------------------------------------------

TEST_CASE("health: one log line per effective transition, subject first, with the reason", "[health]") {
  health_log();
  TcpListener target;
  Views views;
  HealthEngine engine(views.callback());
  auto c = tcp_check("web-a", target.port());
  c.rise = 2;
  c.fall = 3;
  engine.configure(1, {c}, {});
  REQUIRE(views.wait_check(0, Health::Healthy));
  target.stop();
  REQUIRE(views.wait_check(0, Health::Unhealthy));
  REQUIRE(wait_probes(engine, "web-a", status_of(engine, "web-a").probes + 2));  // more failures, no new line

  const std::string subject = "check web-a 127.0.0.1:" + std::to_string(target.port()) + ": ";
  const std::regex shape(R"(check \S+ \S+: (unknown|healthy|unhealthy) -> (unknown|healthy|unhealthy)( after \d+ (failures?|successes?))?: .+)");
  std::vector<std::string> lines;
  for (const auto& l : health_log().lines()) {
    if (l.rfind(subject, 0) == 0) lines.push_back(l);
  }
  CHECK(lines == std::vector<std::string>{subject + "unknown -> healthy: connected",
                                          subject + "healthy -> unhealthy after 3 failures: connect refused"});
  for (const auto& l : lines) CHECK(std::regex_match(l, shape));
  CHECK(status_of(engine, "web-a").transitions == 2);
}

TEST_CASE("health: a failure changes the published view within the worst-case detection time", "[health]") {
  health_log();
  struct Case {
    const char* what;
    std::chrono::milliseconds interval, fast_interval, timeout;
    unsigned fall;
  };
  // Measured loosely: only an upper bound, with slack for a loaded machine.
  const std::vector<Case> cases = {
      {"fall x interval + timeout", 50ms, 0ms, 40ms, 3},
      {"interval + (fall - 1) x max(fast_interval, timeout) + timeout", 600ms, 20ms, 40ms, 3},
  };
  constexpr auto kSlack = 1s;
  for (const Case& c : cases) {
    DYNAMIC_SECTION(c.what) {
      TcpListener target;
      Views views;
      HealthEngine engine(views.callback());
      auto check = tcp_check("detect", target.port());
      check.interval = c.interval;
      check.fast_interval = c.fast_interval;
      check.timeout = c.timeout;
      check.jitter = 0.1;
      check.fall = c.fall;
      const auto bound = worst_case_detection(Timing::of(check), c.fall);
      engine.configure(1, {check}, {});
      REQUIRE(views.wait_check(0, Health::Healthy));
      const auto broke = SteadyClock::now();
      target.stop();
      auto at = views.wait_check(0, Health::Unhealthy);
      REQUIRE(at);
      const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(*at - broke);
      INFO("detected after " << took.count() << "ms; bound " << bound.count() << "ms");
      CHECK(took <= bound + kSlack);
      if (c.fast_interval.count()) {
        // Without fast_interval the bound would be fall x interval + timeout.
        CHECK(bound + kSlack < c.fall * c.interval + c.timeout);
      }
    }
  }
}

// ---- concurrency -------------------------------------------------------------------------------

TEST_CASE("health: the publish callback may call back into the engine, views still arrive in order", "[health]") {
  health_log();
  // All of these are touched on the engine thread only, and read here after configure()
  // returned (which synchronizes with it).
  HealthEngine* self = nullptr;
  std::vector<uint64_t> versions;
  std::shared_ptr<const HealthView> last;
  bool overridden = false;
  size_t statuses = 0;
  HealthEngine engine([&](std::shared_ptr<const HealthView> v) {
    versions.push_back(v->version);
    statuses += self->status().checks.size();
    if (!overridden) {
      overridden = true;
      (void)self->set_override(on_check("reentrant", Override::Down));  // publishes version 2
    }
    last = v;  // a consumer that stores the view last must end with the newest
  });
  self = &engine;
  auto off = tcp_check("reentrant", 9);
  off.disabled = true;
  engine.configure(1, {off}, {});
  CHECK(versions == std::vector<uint64_t>{1, 2});
  REQUIRE(last);
  CHECK(last->version == 2);
  CHECK(last->checks == std::vector<Health>{Health::Unhealthy});
  CHECK(statuses == 2);
}

TEST_CASE("health: configure, overrides and status from several threads, views in order", "[health]") {
  health_log();
  TcpListener up;
  ClosedPort down;
  Views views;
  HealthEngine engine(views.callback());
  const std::vector<MemberKey> members{member("r", "192.0.2.1"), member("r", "192.0.2.2")};
  auto set_a = Checks{tcp_check("mt-a", up.port()), tcp_check("mt-b", down.port()), calculated("mt-c", {"mt-a", "mt-b"}, 1)};
  auto set_b = Checks{tcp_check("mt-a", up.port()), tcp_check("mt-d", down.port())};
  engine.configure(1, set_a, members);
  std::atomic<bool> done{false};
  std::thread overrides([&] {
    while (!done) {
      auto r = engine.set_override(on_member(members[0], Override::Drain));
      auto c = engine.set_override(on_check("mt-a", Override::Down));
      (void)engine.status();
      if (r) engine.clear_override(r->id);
      if (c) engine.clear_override(c->id);
    }
  });
  std::atomic<size_t> bad_status{0};  // Catch2 assertions are for the test's own thread
  std::thread status([&] {
    while (!done) {
      auto s = engine.status();
      if (s.checks.size() < 2) ++bad_status;
      std::this_thread::yield();
    }
  });
  for (uint64_t i = 2; i < 40; ++i) {
    engine.configure(i, i % 2 ? set_a : set_b, members);
    engine.wait_initial_round(50ms);
  }
  done = true;
  overrides.join();
  status.join();
  CHECK(bad_status == 0);
  auto all = views.all();
  REQUIRE(!all.empty());
  for (size_t i = 1; i < all.size(); ++i) {
    CHECK(all[i]->version == all[i - 1]->version + 1);
    CHECK(all[i]->registry >= all[i - 1]->registry);
  }
  CHECK(all.back()->registry == 39);
}
