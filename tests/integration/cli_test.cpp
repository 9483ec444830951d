// The command line: --version, checkzone and checkconf (named-checkzone style: file:line: reason,
// non-zero exit), and every config example in the docs loads.
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "integration/harness.h"

using namespace pharos::test;
namespace fs = std::filesystem;

namespace {

struct Run {
  int status;
  std::string output;  // stdout and stderr
};

Run run(const std::vector<std::string>& args, const TempDir& dir) {
  std::vector<std::string> argv{pharos_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  std::string log = dir.path() + "/run-" + std::to_string(std::rand()) + ".log";
  Process p(argv, log);
  int st = 0;
  for (int i = 0; i < 3000 && p.running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  st = p.stop();
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, p.log()};
}

const char* kGood = "$ORIGIN example.com.\n$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n";

}  // namespace

TEST_CASE("cli: --version and usage", "[integration]") {
  TempDir dir;
  auto v = run({"--version"}, dir);
  CHECK(v.status == 0);
  CHECK(v.output.rfind("pharos ", 0) == 0);
  auto none = run({}, dir);
  CHECK(none.status == 2);
  CHECK(none.output.find("usage:") != std::string::npos);
}

TEST_CASE("cli: checkzone reports file:line: reason and exits non-zero", "[integration]") {
  TempDir dir;
  std::string good = dir.write("good.zone", kGood);
  auto ok = run({"checkzone", "example.com", good}, dir);
  CHECK(ok.status == 0);
  CHECK(ok.output.find("loaded serial 1") != std::string::npos);
  std::string bad = dir.write("bad.zone", std::string(kGood) + "www A 192.0.2.1\nwww CNAME ns\nmx MX x\n");
  auto err = run({"checkzone", "example.com", bad}, dir);
  CHECK(err.status == 1);
  CHECK(err.output.find(bad + ":8: ") != std::string::npos);
  auto missing = run({"checkzone", "example.com", dir.path() + "/nope.zone"}, dir);
  CHECK(missing.status == 1);
  CHECK(missing.output.find("nope.zone") != std::string::npos);
}

TEST_CASE("cli: checkconf checks the config and every zone it names", "[integration]") {
  TempDir dir;
  dir.write("zones/example.com.zone", kGood);
  std::string cfg = dir.write("pharos.yaml", "zones:\n  - directory: zones\n");
  auto ok = run({"checkconf", cfg}, dir);
  CHECK(ok.status == 0);
  std::string bad = dir.write("bad.yaml", "server:\n  udp_payload_max: 100\n");
  auto err = run({"checkconf", bad}, dir);
  CHECK(err.status == 1);
  CHECK(err.output.find(bad + ":2: ") != std::string::npos);
  dir.write("zones/broken.test.zone", "$ORIGIN broken.test.\n@ 60 NS ns\n");
  auto zerr = run({"checkconf", cfg}, dir);
  CHECK(zerr.status == 1);
  CHECK(zerr.output.find("no SOA record") != std::string::npos);
}

TEST_CASE("cli: the server exits with a clear error on a bad config or a busy port", "[integration]") {
  TempDir dir;
  std::string bad = dir.write("bad.yaml", "server:\n  listen: [\"127.0.0.1:x\"]\n");
  auto r = run({"--config", bad}, dir);
  CHECK(r.status == 1);
  CHECK(r.output.find(bad + ":2: ") != std::string::npos);
}

// Every config in docs/examples, and every ```yaml block in README.md and docs/*.md, loads with
// `pharos checkconf`, so the documentation cannot drift from the code. Blocks are written as if
// they sat at the repository root (paths such as zones/ resolve from there).
TEST_CASE("cli: every config example in the docs loads", "[integration]") {
  TempDir dir;
  fs::create_directory_symlink(source_dir() + "/zones", dir.path() + "/zones");
  size_t checked = 0;
  for (const auto& entry : fs::directory_iterator(source_dir() + "/docs/examples")) {
    if (entry.path().extension() != ".yaml") continue;
    INFO(entry.path().string());
    auto r = run({"checkconf", entry.path().string()}, dir);
    INFO(r.output);
    CHECK(r.status == 0);
    ++checked;
  }
  std::vector<fs::path> docs{source_dir() + "/README.md"};
  for (const auto& entry : fs::directory_iterator(source_dir() + "/docs")) {
    if (entry.path().extension() == ".md") docs.push_back(entry.path());
  }
  std::regex block("```yaml\\n([\\s\\S]*?)```");
  for (const fs::path& doc : docs) {
    std::ifstream in(doc);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string text = ss.str();
    int n = 0;
    for (std::sregex_iterator it(text.begin(), text.end(), block), end; it != end; ++it) {
      std::string cfg = dir.write("snippet-" + std::to_string(checked) + ".yaml", (*it)[1].str());
      INFO(doc.string() << " block " << n << ":\n" << (*it)[1].str());
      auto r = run({"checkconf", cfg}, dir);
      INFO(r.output);
      CHECK(r.status == 0);
      ++checked;
      ++n;
    }
  }
  CHECK(checked >= 1);
}
