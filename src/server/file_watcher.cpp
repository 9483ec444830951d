#include "server/file_watcher.h"

#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "common/log.h"

namespace pharos::server {

namespace fs = std::filesystem;

namespace {
constexpr uint32_t kEvents = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_ATTRIB;

std::string normal(const std::string& p) {
  std::error_code ec;
  return fs::absolute(fs::path(p), ec).lexically_normal().string();
}
}  // namespace

FileWatcher::FileWatcher(boost::asio::io_context& io, std::function<void(const std::string&)> on_change)
    : fd_(io), on_change_(std::move(on_change)), buf_(64 * 1024) {
  int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) {
    log::get("server")->warn("inotify: {}; files will be read again only on SIGHUP", std::strerror(errno));
    return;
  }
  fd_.assign(fd);
  read();
}

FileWatcher::~FileWatcher() {
  boost::system::error_code ignored;
  fd_.close(ignored);
}

void FileWatcher::watch(const std::vector<std::string>& files, const std::vector<std::string>& dirs) {
  if (!fd_.is_open()) return;
  files_.clear();
  zone_dirs_.clear();
  std::set<std::string> wanted;
  for (const std::string& f : files) {
    std::string p = normal(f);
    files_.insert(p);
    wanted.insert(fs::path(p).parent_path().string());
    // A symlink (certbot's live/ layout, or a zone kept elsewhere): watch the target as well.
    std::error_code ec;
    fs::path target = fs::canonical(p, ec);
    if (!ec && target.string() != p) {
      files_.insert(target.string());
      wanted.insert(target.parent_path().string());
    }
  }
  for (const std::string& d : dirs) {
    std::string p = normal(d);
    zone_dirs_.insert(p);
    wanted.insert(p);
  }
  std::map<int, std::string> next;
  for (const std::string& d : wanted) {
    int wd = ::inotify_add_watch(fd_.native_handle(), d.c_str(), kEvents | IN_ONLYDIR);
    if (wd < 0) {
      log::get("server")->warn("inotify: cannot watch {}: {}", d, std::strerror(errno));
      continue;
    }
    next[wd] = d;
  }
  for (const auto& [wd, dir] : dirs_by_wd_) {
    if (!next.count(wd)) ::inotify_rm_watch(fd_.native_handle(), wd);
  }
  dirs_by_wd_ = std::move(next);
}

void FileWatcher::handle(const std::string& dir, const std::string& name) {
  std::string path = dir + "/" + name;
  bool zone_file = zone_dirs_.count(dir) && name.size() > 5 && name.compare(name.size() - 5, 5, ".zone") == 0 &&
                   name[0] != '.';
  if (files_.count(path) || zone_file) on_change_(path);
}

void FileWatcher::read() {
  fd_.async_read_some(boost::asio::buffer(buf_), [this](boost::system::error_code ec, size_t n) {
    if (ec) return;  // closed
    size_t off = 0;
    while (off + sizeof(inotify_event) <= n) {
      inotify_event ev;
      std::memcpy(&ev, buf_.data() + off, sizeof ev);
      const char* name = buf_.data() + off + sizeof(inotify_event);
      auto it = dirs_by_wd_.find(ev.wd);
      if (it != dirs_by_wd_.end() && ev.len > 0) handle(it->second, std::string(name, strnlen(name, ev.len)));
      off += sizeof(inotify_event) + ev.len;
    }
    read();
  });
}

}  // namespace pharos::server
