// docs/health-checks.md: every ```yaml block loads as a full config (as the integration test
// "every config example in the docs loads" also checks with the binary), the checks in it can
// be probed (prepare_probe finds nothing wrong), and the detection times the page quotes are
// what the scheduler computes.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "config/config.h"
#include "health/probe.h"
#include "health/scheduler.h"
#include "unit/health/test_servers.h"

using namespace pharos;
using namespace pharos::health;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

std::string read(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The yaml blocks of the page, each loaded as if it sat at the repository root.
std::vector<config::Config> load_examples(std::vector<std::string>* texts = nullptr) {
  const fs::path doc = fs::path(PHAROS_SOURCE_DIR) / "docs" / "health-checks.md";
  const std::string text = read(doc);
  REQUIRE_FALSE(text.empty());
  test::TempDir dir;
  fs::create_directory_symlink(fs::path(PHAROS_SOURCE_DIR) / "zones", dir.path() / "zones");
  std::vector<config::Config> out;
  std::regex block("```yaml\\n([\\s\\S]*?)```");
  int n = 0;
  for (std::sregex_iterator it(text.begin(), text.end(), block), end; it != end; ++it, ++n) {
    const std::string yaml = (*it)[1].str();
    INFO("block " << n << ":\n" << yaml);
    auto cfg = config::load_config(dir.write("example-" + std::to_string(n) + ".yaml", yaml));
    if (!cfg) FAIL(cfg.error().message);
    CHECK(cfg->warnings.empty());
    for (const auto& z : cfg->zones) CHECK(fs::exists(z.file));
    out.push_back(std::move(*cfg));
    if (texts) texts->push_back(yaml);
  }
  return out;
}

const config::HealthCheck* find_check(const std::vector<config::Config>& cfgs, const std::string& name) {
  for (const auto& c : cfgs) {
    for (const auto& h : c.health_checks) {
      if (h.name == name) return &h;
    }
  }
  return nullptr;
}

}  // namespace

TEST_CASE("health: every yaml example in docs/health-checks.md loads, and its checks can be probed", "[health]") {
  auto cfgs = load_examples();
  CHECK(cfgs.size() >= 7);
  size_t checks = 0;
  for (const auto& cfg : cfgs) {
    for (const auto& h : cfg.health_checks) {
      INFO(h.name);
      ++checks;
      if (h.type == config::CheckType::Calculated || h.disabled) continue;
      CHECK(probe_spec_error(*prepare_probe(h)).empty());
    }
  }
  CHECK(checks >= 20);
}

TEST_CASE("health: the detection times in docs/health-checks.md are the scheduler's", "[health]") {
  auto cfgs = load_examples();
  const config::HealthCheck* fast = find_check(cfgs, "app1-fast");
  REQUIRE(fast);
  CHECK(fast->interval == 250ms);
  CHECK(fast->fast_interval == 50ms);
  CHECK(fast->timeout == 100ms);
  CHECK(worst_case_detection(Timing::of(*fast), fast->fall) == 450ms);
  CHECK(worst_case_detection(Timing::of(*fast), fast->rise) == 450ms);

  struct Profile {
    std::chrono::milliseconds interval, fast_interval, timeout;
    unsigned fall, rise;
    std::chrono::milliseconds down, up;  // as the page's table says
  };
  const std::vector<Profile> table = {
      {1s, 0ms, 500ms, 3, 2, 3500ms, 2500ms},
      {250ms, 50ms, 100ms, 2, 2, 450ms, 450ms},
      {10s, 0ms, 2s, 3, 2, 32s, 22s},
  };
  for (const Profile& p : table) {
    Timing t;
    t.interval = p.interval;
    t.fast_interval = p.fast_interval;
    t.timeout = p.timeout;
    CHECK(worst_case_detection(t, p.fall) == p.down);
    CHECK(worst_case_detection(t, p.rise) == p.up);
  }
}
