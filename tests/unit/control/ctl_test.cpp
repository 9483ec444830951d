// `pharos ctl` against a real ControlServer: every command, human and --json output, the ways
// to find the server and the token, and the exit codes.
#include <stdlib.h>

#include <catch2/catch.hpp>
#include <fstream>

#include "unit/control/control_test_util.h"

using namespace pharos;
using namespace pharos::control;
using namespace pharos::control::test;

namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// Unsets PHAROS_TOKEN for the test, restoring it after.
struct NoEnvToken {
  NoEnvToken() {
    if (const char* t = std::getenv("PHAROS_TOKEN")) saved = t;
    unsetenv("PHAROS_TOKEN");
  }
  ~NoEnvToken() {
    if (saved) setenv("PHAROS_TOKEN", saved->c_str(), 1);
    else unsetenv("PHAROS_TOKEN");
  }
  std::optional<std::string> saved;
};

}  // namespace

TEST_CASE("ctl: status, checks, override and reload over the Unix socket", "[control]") {
  NoEnvToken env;
  Fixture f;
  f.wait_healthy();
  const std::string sock = f.socket_path();

  auto st = ctl({"--socket", sock, "status"});
  INFO(st.err);
  REQUIRE(st.code == 0);
  CHECK(contains(st.out, "pharos 9.9.9-test, health view "));
  CHECK(contains(st.out, "CHECK"));
  CHECK(contains(st.out, "web-a"));
  CHECK(contains(st.out, "127.0.0.1:" + std::to_string(f.backend_port())));
  CHECK(contains(st.out, "healthy"));
  CHECK(contains(st.out, " ago"));
  CHECK(contains(st.out, "no overrides"));
  CHECK(contains(st.out, "www-a  (failover)"));
  CHECK(contains(st.out, "192.0.2.10"));

  auto checks = ctl({"--socket", sock, "checks", "--json"});
  REQUIRE(checks.code == 0);
  CHECK(json::parse(checks.out).at("checks").at(0).at("name") == "web-a");

  auto set = ctl({"--socket", sock, "override", "down", "--check", "web-a", "--reason", "disk swap", "--json"});
  INFO(set.err);
  REQUIRE(set.code == 0);
  const auto id = json::parse(set.out).at("id").to_number<uint64_t>();
  CHECK(f.engine().status().checks[0].effective == health::Health::Unhealthy);

  auto member = ctl({"--socket", sock, "override", "drain", "--record=www-a", "--value=192.0.2.10", "--for", "10m"});
  INFO(member.err);
  REQUIRE(member.code == 0);
  CHECK(contains(member.out, ": record www-a value 192.0.2.10 drain until "));
  CHECK(contains(member.out, "(in "));

  auto list = ctl({"--socket", sock, "override", "list"});
  REQUIRE(list.code == 0);
  CHECK(contains(list.out, "ID"));
  CHECK(contains(list.out, "check web-a"));
  CHECK(contains(list.out, "disk swap"));
  CHECK(contains(list.out, "no expiry"));
  CHECK(contains(list.out, "record www-a value 192.0.2.10"));

  st = ctl({"--socket", sock, "status"});
  CHECK(contains(st.out, "unhealthy (override " + std::to_string(id) + " down)"));
  CHECK(contains(st.out, "drain"));

  auto clear = ctl({"--socket", sock, "override", "clear", std::to_string(id)});
  CHECK(clear.code == 0);
  CHECK(clear.out == "override " + std::to_string(id) + " cleared\n");
  clear = ctl({"--socket", sock, "override", "clear", std::to_string(id)});
  CHECK(clear.code == 1);
  CHECK(contains(clear.err, "error 404 from unix socket " + sock + ": no override with id " + std::to_string(id)));

  auto bad = ctl({"--socket", sock, "override", "up", "--check", "web-z"});
  CHECK(bad.code == 1);
  CHECK(contains(bad.err, "override: no check named \"web-z\""));

  auto reload = ctl({"--socket", sock, "reload"});
  CHECK(reload.code == 0);
  CHECK(reload.out == "reload requested\n");
  CHECK(f.reloads == 1);
}

TEST_CASE("ctl: drain and undrain a check or a member in one word", "[control]") {
  NoEnvToken env;
  Fixture f;
  f.wait_healthy();
  const std::string sock = f.socket_path();

  auto drain = ctl({"--socket", sock, "drain", "web-a", "--for", "10m", "--reason", "kernel upgrade"});
  INFO(drain.err);
  REQUIRE(drain.code == 0);
  CHECK(contains(drain.out, ": check web-a drain until "));
  CHECK(contains(drain.out, "kernel upgrade"));
  auto status = f.engine().status();
  REQUIRE(status.overrides.size() == 1);
  CHECK(status.overrides[0].check == "web-a");
  CHECK(status.overrides[0].action == health::Override::Drain);
  CHECK(status.overrides[0].until);

  auto member = ctl({"--socket", sock, "drain", "--record", "www-a", "--value", "192.0.2.10", "--json"});
  REQUIRE(member.code == 0);
  CHECK(json::parse(member.out).at("action") == "drain");

  auto undrain = ctl({"--socket", sock, "undrain", "--check", "web-a"});
  INFO(undrain.err);
  REQUIRE(undrain.code == 0);
  CHECK(undrain.out == "override " + std::to_string(status.overrides[0].id) + " cleared: check web-a drain\n");
  REQUIRE(f.engine().status().overrides.size() == 1);  // the member's drain stays
  CHECK(ctl({"--socket", sock, "undrain", "web-a"}).out == "no drain override on check web-a\n");
  auto json_undrain = ctl({"--socket", sock, "undrain", "--record", "www-a", "--value", "192.0.2.10", "--json"});
  REQUIRE(json_undrain.code == 0);
  CHECK(json::parse(json_undrain.out).at("cleared").at(0).at("value") == "192.0.2.10");
  CHECK(f.engine().status().overrides.empty());

  // Without an explain hook (no DNS role) explain says so.
  auto explain = ctl({"--socket", sock, "explain", "www.example.com"});
  CHECK(explain.code == kCtlServerError);
  CHECK(contains(explain.err, "explain is not available"));
}

TEST_CASE("ctl: --address and the token from --token, PHAROS_TOKEN or the config", "[control]") {
  NoEnvToken env;
  Fixture f(kToken);
  auto r = ctl({"--address", f.address(), "status"});
  CHECK(r.code == 1);
  CHECK(contains(r.err, "error 401 from " + f.address()));
  CHECK(contains(r.err, "give the token with --token or PHAROS_TOKEN"));

  r = ctl({"--address", f.address(), "--token", "not-the-token-at-all", "status"});
  CHECK(r.code == 1);
  CHECK(contains(r.err, "invalid token"));

  r = ctl({"--address", f.address(), "--token", kToken, "status"});
  INFO(r.err);
  CHECK(r.code == 0);

  setenv("PHAROS_TOKEN", kToken, 1);
  r = ctl({"--socket", f.socket_path(), "checks"});
  INFO(r.err);
  CHECK(r.code == 0);
  CHECK(contains(r.out, "web-a"));
  unsetenv("PHAROS_TOKEN");

  // --config: the socket and the token come from the control section.
  const std::string cfg = (f.dir() / "pharos.yaml").string();
  std::ofstream(cfg) << "control:\n  socket: " << f.socket_path() << "\n  token: " << kToken << "\n";
  r = ctl({"--config", cfg, "override", "list", "--json"});
  INFO(r.err);
  CHECK(r.code == 0);
  CHECK(json::parse(r.out).at("overrides").as_array().empty());
  // Or the address, when there is no socket.
  std::ofstream(cfg) << "control:\n  listen: " << f.address() << "\n  token: " << kToken << "\n";
  r = ctl({"--config", cfg, "status", "--json"});
  INFO(r.err);
  CHECK(r.code == 0);
  CHECK(json::parse(r.out).at("version") == "9.9.9-test");
}

TEST_CASE("ctl: usage errors exit 2", "[control]") {
  NoEnvToken env;
  auto usage = [](std::vector<std::string> args) {
    auto r = ctl(args);
    CHECK(r.code == kCtlUsage);
    CHECK(contains(r.err, "usage: pharos ctl"));
    return r.err.substr(0, r.err.find('\n'));
  };
  CHECK(usage({}) == "pharos ctl: no command given");
  CHECK(usage({"status"}) ==
        "pharos ctl: say where the server is: --config FILE, --socket PATH or --address HOST:PORT");
  CHECK(usage({"--socket", "/x", "--address", "127.0.0.1:1", "status"}) ==
        "pharos ctl: give only one of --config, --socket and --address");
  CHECK(usage({"--socket", "/x", "frobnicate"}) == "pharos ctl: unknown command \"frobnicate\"");
  CHECK(usage({"--socket", "/x", "status", "extra"}) == "pharos ctl: unexpected argument \"extra\"");
  CHECK(usage({"--socket", "/x", "--bogus", "status"}) == "pharos ctl: unknown option --bogus");
  CHECK(usage({"--socket"}) == "pharos ctl: --socket needs a value");
  CHECK(usage({"--socket", "/x", "status", "--check", "web-a"}) ==
        "pharos ctl: --check only applies to override up|down|drain, drain and undrain");
  CHECK(usage({"--socket", "/x", "undrain", "a", "--for", "1m"}) ==
        "pharos ctl: --for only applies to override up|down|drain, drain");
  CHECK(usage({"--socket", "/x", "drain"}) == "pharos ctl: drain needs --check NAME, or --record ID and --value VALUE");
  CHECK(usage({"--socket", "/x", "drain", "a", "--check", "b"}) ==
        "pharos ctl: drain: give the check as a word or with --check, not both");
  CHECK(usage({"--socket", "/x", "drain", "a", "b"}) == "pharos ctl: unexpected argument \"b\"");
  CHECK(usage({"--socket", "/x", "explain"}).find("pharos ctl: explain needs a name") == 0);
  CHECK(usage({"--socket", "/x", "explain", "a", "A", "x"}) == "pharos ctl: unexpected argument \"x\"");
  CHECK(usage({"--socket", "/x", "status", "--client", "192.0.2.1"}) == "pharos ctl: --client only applies to explain");
  CHECK(usage({"--socket", "/x", "override"}) == "pharos ctl: override needs up, down, drain, list or clear");
  CHECK(usage({"--socket", "/x", "override", "off"}) ==
        "pharos ctl: unknown override action \"off\" (known: up, down, drain, list, clear)");
  CHECK(usage({"--socket", "/x", "override", "down"}) ==
        "pharos ctl: override down needs --check NAME, or --record ID and --value VALUE");
  CHECK(usage({"--socket", "/x", "override", "down", "--record", "www-a"}) ==
        "pharos ctl: a member override needs both --record and --value");
  CHECK(usage({"--socket", "/x", "override", "down", "--check", "a", "--for", "1m", "--until", "2999-01-01T00:00:00Z"}) ==
        "pharos ctl: give --for or --until, not both");
  CHECK(usage({"--socket", "/x", "override", "down", "--check", "a", "--for", "a while"}) ==
        "pharos ctl: --for: invalid duration \"a while\" (expected e.g. 30s, 10m, 2h)");
  CHECK(usage({"--socket", "/x", "override", "down", "--check", "a", "--until", "noon"}).find(
            "pharos ctl: --until: invalid time \"noon\"") == 0);
  CHECK(usage({"--socket", "/x", "override", "clear"}) ==
        "pharos ctl: override clear needs the override's ID (see override list)");
  CHECK(usage({"--socket", "/x", "override", "clear", "abc"}) ==
        "pharos ctl: override clear: \"abc\" is not an override ID (a number)");
  CHECK(usage({"--address", "localhost:8053", "status"}).find("pharos ctl: --address: invalid address") == 0);
  CHECK(usage({"--config", "/nonexistent/pharos.yaml", "status"}).find("/nonexistent/pharos.yaml") != std::string::npos);

  Fixture f("", {}, false);
  const std::string cfg = (f.dir() / "pharos.yaml").string();
  std::ofstream(cfg) << "log:\n  level: info\n";
  CHECK(usage({"--config", cfg, "status"}) ==
        "pharos ctl: " + cfg + ": the control API is off (set control.socket or control.listen)");

  auto help = ctl({"--help"});
  CHECK(help.code == 0);
  CHECK(contains(help.out, "usage: pharos ctl"));
}

TEST_CASE("ctl: no server exits 3 and says where it tried", "[control]") {
  NoEnvToken env;
  Fixture f("", {}, false);  // nothing listening
  const std::string sock = (f.dir() / "none.sock").string();
  auto r = ctl({"--socket", sock, "status"});
  CHECK(r.code == kCtlNoConnection);
  CHECK(r.err == "pharos ctl: cannot connect to unix socket " + sock + ": No such file or directory\n");

  const std::string long_path = "/tmp/" + std::string(200, 'x') + ".sock";
  r = ctl({"--socket", long_path, "status"});
  CHECK(r.code == kCtlNoConnection);
  CHECK(r.err == "pharos ctl: cannot connect to unix socket " + long_path + ": the path is too long for a Unix socket\n");

  health::test::ClosedPort closed;
  const std::string where = "127.0.0.1:" + std::to_string(closed.port());
  r = ctl({"--address", where, "status"});
  CHECK(r.code == kCtlNoConnection);
  CHECK(r.err == "pharos ctl: cannot connect to " + where + ": Connection refused\n");
}
