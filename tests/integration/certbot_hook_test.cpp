// tools/certbot-deploy-hook against the real binary: a certificate renewed in certbot's layout
// (archive/ files, live/ symlinks swapped), the hook run as certbot runs it, and the certificate
// the edge then serves read with openssl s_client.
#include <catch2/catch.hpp>

#include <filesystem>

#include "integration/edge_helpers.h"

using namespace pharos;
using namespace pharos::edge::itest;
namespace fs = std::filesystem;

namespace {

// certbot's lineage: archive/<name>/{cert,chain,fullchain,privkey}N.pem, and live/<name>/*.pem
// symlinks to the newest, swapped one by one as certbot does on renewal.
class Lineage {
 public:
  Lineage(std::string root, std::string name) : root_(std::move(root)), name_(std::move(name)) {}
  std::string live() const { return root_ + "/live/" + name_; }

  // Issues version N+1 for `names` and points live/ at it; returns the leaf's PEM.
  std::string renew(const Pki& pki, const std::string& cn, const std::string& names) {
    const Pem p = pki.leaf(cn, names);
    const std::string leaf = p.cert.substr(0, p.cert.find("-----END CERTIFICATE-----") + 26);
    const std::string archive = root_ + "/archive/" + name_;
    fs::create_directories(archive);
    fs::create_directories(live());
    const std::string n = std::to_string(++version_);
    const std::pair<const char*, std::string> files[] = {
        {"cert", leaf}, {"chain", p.cert.substr(leaf.size())}, {"fullchain", p.cert}, {"privkey", p.key}};
    for (const auto& [kind, text] : files) {
      Pki::write_file(archive + "/" + kind + n + ".pem", text);
    }
    for (const auto& [kind, text] : files) {
      const fs::path link = live() + "/" + kind + ".pem";
      const fs::path tmp = live() + "/" + kind + ".pem.new";
      fs::remove(tmp);
      fs::create_symlink("../../archive/" + name_ + "/" + kind + n + ".pem", tmp);
      fs::rename(tmp, link);
    }
    return leaf;
  }

 private:
  std::string root_, name_;
  int version_ = 0;
};

struct HookRun {
  int status = -1;
  std::string output;
};

// Runs the hook with certbot's variables and `env` (NAME=value ...), its stdout and stderr.
HookRun run_hook(const Lineage& lineage, const std::string& domains, const std::vector<std::string>& env) {
  std::string cmd = "env RENEWED_LINEAGE=" + shell_quote(lineage.live()) + " RENEWED_DOMAINS=" + shell_quote(domains) +
                    " PHAROS_HOOK_CONF=/nonexistent PHAROS_BIN=" + shell_quote(pharos::test::pharos_binary());
  for (const auto& e : env) cmd += " " + shell_quote(e);
  cmd += " " + shell_quote(pharos::test::source_dir() + "/tools/certbot-deploy-hook") + " 2>&1; echo \"rc=$?\"";
  HookRun r;
  r.output = pharos::test::run_capture(cmd);
  const size_t rc = r.output.rfind("rc=");
  if (rc != std::string::npos) r.status = std::stoi(r.output.substr(rc + 3));
  return r;
}

// The serial of the certificate the edge serves for `sni`, and of a PEM file, as openssl prints them.
std::string served_serial(const Edge& e, const std::string& sni) {
  return pharos::test::run_capture("timeout 20 openssl s_client -connect 127.0.0.1:" + std::to_string(e.https_port()) +
                                   " -servername " + shell_quote(sni) +
                                   " </dev/null 2>/dev/null | openssl x509 -noout -serial");
}
std::string file_serial(const std::string& path) {
  return pharos::test::run_capture("openssl x509 -noout -serial -in " + shell_quote(path));
}

std::string edge_config(const Backend& web, const std::string& extra = "") {
  return "edge:\n  workers: 1\n  https:\n    listen: [\"127.0.0.1:0\"]\n    certificates:\n"
         "      - live: le/live/www.a.test\n"
         "  routes:\n    - pool: web\n  pools:\n    web:\n      members: [\"" +
         web.address() + "\"]\n" + extra;
}

// A running edge whose certificate is the lineage le/live/www.a.test (for www.a.test and a.test).
struct Served {
  Edge e;
  Backend web{"web"};
  Lineage lineage{e.path() + "/le", "www.a.test"};
  std::string https;  // PHAROS_CHECK_CONNECT=its https listener
  explicit Served(const std::string& extra = "") {
    lineage.renew(e.pki(), "www.a.test", "DNS:www.a.test,DNS:a.test");
    e.start(edge_config(web, extra));
    https = "PHAROS_CHECK_CONNECT=127.0.0.1:" + std::to_string(e.https_port());
  }
};

}  // namespace

TEST_CASE("certbot deploy hook: the edge serves the renewed certificate, reloaded by the control API or a pid file",
          "[integration][edge][certbot]") {
  Served s("control:\n  socket: control.sock\n");
  Edge& e = s.e;
  Lineage& lineage = s.lineage;
  const std::string& https = s.https;
  const std::string first = served_serial(e, "www.a.test");
  REQUIRE(first == file_serial(lineage.live() + "/cert.pem"));

  SECTION("by the control API (auto: the config has a control section)") {
    lineage.renew(e.pki(), "www.a.test", "DNS:www.a.test,DNS:a.test");
    const size_t mark = e.process().log_size();
    HookRun r = run_hook(lineage, "www.a.test a.test",
                         {https, "PHAROS_CONFIG=" + e.config_path(), "PHAROS_SERVICE=pharos-test-no-such-unit"});
    INFO(r.output);
    CHECK(r.status == 0);
    CHECK(contains(r.output, "reload: ctl"));
    CHECK(contains(r.output,
                   "www.a.test: 127.0.0.1:" + std::to_string(e.https_port()) + " serves the renewed certificate"));
    CHECK(contains(r.output, "certbot-deploy-hook: a.test: 127.0.0.1:"));  // each renewed domain
    // The file watcher may have seen the renewed files first: requests that meet while a reload
    // is pending are done as one, their reasons joined ("changed: ..., control API").
    CHECK(e.logged(R"(reload: done reason="([^"]*, )?control API(, [^"]*)?")", mark));
  }
  SECTION("by SIGHUP to the pid in a pid file") {
    const std::string pidfile = e.dir().write("pharos.pid", std::to_string(e.process().pid()) + "\n");
    lineage.renew(e.pki(), "www.a.test", "DNS:www.a.test,DNS:a.test");
    const size_t mark = e.process().log_size();
    HookRun r = run_hook(lineage, "www.a.test", {https, "PHAROS_RELOAD=pidfile", "PHAROS_PIDFILE=" + pidfile});
    INFO(r.output);
    CHECK(r.status == 0);
    CHECK(contains(r.output, "reload: pidfile"));
    CHECK(e.logged(R"(reload: done reason="([^"]*, )?SIGHUP(, [^"]*)?")", mark));
  }
  const std::string now = served_serial(e, "www.a.test");
  CHECK(now != first);
  CHECK(now == file_serial(lineage.live() + "/cert.pem"));
}

TEST_CASE("certbot deploy hook: fails naming both certificates when the edge does not serve the renewed one",
          "[integration][edge][certbot]") {
  Served s;
  Edge& e = s.e;
  const std::string& https = s.https;

  // A lineage the edge's config does not name: renewing it changes nothing the edge serves.
  Lineage elsewhere(e.path() + "/le", "other");
  elsewhere.renew(e.pki(), "www.a.test", "DNS:www.a.test");
  HookRun r = run_hook(elsewhere, "www.a.test", {https, "PHAROS_RELOAD=none", "PHAROS_CHECK_TIMEOUT=1"});
  INFO(r.output);
  CHECK(r.status == 1);
  std::string old_serial = served_serial(e, "www.a.test"), new_serial = file_serial(elsewhere.live() + "/cert.pem");
  REQUIRE(old_serial.ends_with("\n"));
  REQUIRE(new_serial.ends_with("\n"));
  old_serial.pop_back();
  new_serial.pop_back();
  CHECK(contains(r.output, "www.a.test: 127.0.0.1:" + std::to_string(e.https_port()) + " still serves " + old_serial));
  CHECK(contains(r.output, "expected " + new_serial));
  CHECK(contains(r.output, elsewhere.live() + "/cert.pem"));

  // Nothing listening where it looks.
  r = run_hook(s.lineage, "www.a.test",
               {"PHAROS_CHECK_CONNECT=127.0.0.1:1", "PHAROS_RELOAD=none", "PHAROS_CHECK_TIMEOUT=1"});
  INFO(r.output);
  CHECK(r.status == 1);
  CHECK(contains(r.output, "no certificate from 127.0.0.1:1"));

  // Not run by certbot.
  r = {};
  r.output = pharos::test::run_capture(shell_quote(pharos::test::source_dir() + "/tools/certbot-deploy-hook") +
                                       " 2>&1; echo \"rc=$?\"");
  CHECK(contains(r.output, "RENEWED_LINEAGE is not set"));
  CHECK(contains(r.output, "rc=1"));
}
