// Helpers for config tests: a temp directory holding a config file, and the expected
// "file:line: reason" for an error.
#pragma once

#include <stdlib.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>

#include "config/config.h"

namespace pharos::config::test {

namespace fs = std::filesystem;

// A fresh directory under the system temp directory, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string templ = (fs::temp_directory_path() / "pharos-config-test-XXXXXX").string();
    REQUIRE(mkdtemp(templ.data()) != nullptr);
    path_ = templ;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const fs::path& path() const { return path_; }

  fs::path write(const std::string& rel, const std::string& content) const {
    fs::path p = path_ / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << content;
    return p;
  }

  std::string config_path() const { return (path_ / "pharos.yaml").string(); }

  Result<Config> load(const std::string& yaml) const {
    write("pharos.yaml", yaml);
    return load_config(config_path());
  }

  // The expected message for an error on `line` of the config.
  std::string at(unsigned line, const std::string& reason) const {
    return config_path() + ":" + std::to_string(line) + ": " + reason;
  }

 private:
  fs::path path_;
};

inline std::string error_of(const Result<Config>& r) {
  REQUIRE_FALSE(r.ok());
  return r.error().message;
}

}  // namespace pharos::config::test
