// Watching config and zone files with inotify. Directories are watched rather than files, so an
// editor's write-to-temp-and-rename and certbot-style symlink swaps are seen too. Reports each
// relevant change; the caller debounces and reloads.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

namespace pharos::server {

class FileWatcher {
 public:
  FileWatcher(boost::asio::io_context& io, std::function<void(const std::string& path)> on_change);
  ~FileWatcher();

  // Replaces the watched set: these files (and, for symlinks, their targets), and every
  // `*.zone` file in `dirs`.
  void watch(const std::vector<std::string>& files, const std::vector<std::string>& dirs);

 private:
  void read();
  void handle(const std::string& dir, const std::string& name);

  boost::asio::posix::stream_descriptor fd_;
  std::function<void(const std::string&)> on_change_;
  std::map<int, std::string> dirs_by_wd_;
  std::set<std::string> files_;      // absolute, normalised
  std::set<std::string> zone_dirs_;  // absolute, normalised
  std::vector<char> buf_;
};

}  // namespace pharos::server
