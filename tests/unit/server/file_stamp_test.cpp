#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "server/reloader.h"

using pharos::server::FileStamp;
using pharos::server::same_version;
using pharos::server::stamp_file;

namespace {

std::string temp_file(const std::string& content) {
  static int n = 0;
  std::string path = (std::filesystem::temp_directory_path() / ("pharos-stamp-" + std::to_string(::getpid()) + "-" +
                                                                 std::to_string(n++)))
                         .string();
  std::ofstream(path, std::ios::trunc) << content;
  return path;
}

void rewrite(const std::string& path, const std::string& content) { std::ofstream(path, std::ios::trunc) << content; }

}  // namespace

TEST_CASE("file stamp: a fresh file is racy and carries a content hash", "[server]") {
  std::string p = temp_file("serial 1\n");
  FileStamp s = stamp_file(p);
  CHECK(s.size == 9);
  CHECK(s.racy);
  CHECK(s.content_hash != 0);
  FileStamp fresh;
  CHECK(same_version(s, fresh));
  std::filesystem::remove(p);
}

TEST_CASE("file stamp: a same-size rewrite is seen even when the timestamps did not move", "[server]") {
  // Filesystems with coarse timestamps leave mtime and ctime unchanged by a rewrite within one
  // tick; simulate that by giving the old stamp the new stat fields and the old content's hash.
  std::string p = temp_file("serial 1\n");
  FileStamp v1 = stamp_file(p);
  rewrite(p, "serial 2\n");
  FileStamp old = stamp_file(p);
  old.content_hash = v1.content_hash;
  FileStamp fresh;
  CHECK_FALSE(same_version(old, fresh));
  CHECK(fresh.content_hash != v1.content_hash);
  std::filesystem::remove(p);
}

TEST_CASE("file stamp: changed size, a replaced file and a removed file are changes", "[server]") {
  std::string p = temp_file("serial 1\n");
  FileStamp s = stamp_file(p);
  FileStamp fresh;
  rewrite(p, "serial 10\n");
  CHECK_FALSE(same_version(s, fresh));
  s = stamp_file(p);
  std::string q = temp_file("serial 11\n");
  std::filesystem::rename(q, p);
  CHECK_FALSE(same_version(s, fresh));
  s = stamp_file(p);
  std::filesystem::remove(p);
  CHECK_FALSE(same_version(s, fresh));
}

TEST_CASE("file stamp: an old file is not racy and is not read to be compared", "[server]") {
  std::string p = temp_file("serial 1\n");
  FileStamp s = stamp_file(p);
  // Pretend the stamp was taken long after the last change.
  s.racy = false;
  s.content_hash = 0;
  FileStamp fresh;
  CHECK(same_version(s, fresh));
  std::filesystem::remove(p);
}
