#include "integration/harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace pharos::test {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::string source_dir() { return PHAROS_SOURCE_DIR; }
std::string pharos_binary() { return PHAROS_BINARY; }

bool have_program(const std::string& name) {
  std::string path = std::string(getenv("PATH") ? getenv("PATH") : "") + ":/usr/sbin:/sbin";
  std::stringstream ss(path);
  std::string dir;
  while (std::getline(ss, dir, ':')) {
    if (!dir.empty() && ::access((dir + "/" + name).c_str(), X_OK) == 0) return true;
  }
  return false;
}

uint16_t free_port() {
  for (int attempt = 0; attempt < 50; ++attempt) {
    int u = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(u, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(u, reinterpret_cast<sockaddr*>(&a), &len);
    int t = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(t, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    bool ok = ::bind(t, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    uint16_t port = ntohs(a.sin_port);
    ::close(u);
    ::close(t);
    if (ok) return port;
  }
  throw std::runtime_error("no free port");
}

std::string run_capture(const std::string& cmd) {
  std::string out;
  FILE* f = ::popen(cmd.c_str(), "r");
  if (!f) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  ::pclose(f);
  return out;
}

TempDir::TempDir() {
  std::string tmpl = (fs::temp_directory_path() / "pharos-test-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::string TempDir::write(const std::string& name, const std::string& content) const {
  fs::path p = fs::path(path_) / name;
  fs::create_directories(p.parent_path());
  // Write beside and rename, as editors and deploy tools do, so a watcher never sees half a file.
  fs::path tmp = p;
  tmp += ".tmp~";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << content;
  }
  fs::rename(tmp, p);
  return p.string();
}

Process::Process(std::vector<std::string> argv, std::string log_path) : log_path_(std::move(log_path)) {
  // Everything the child needs is made here, before the fork. The test process has threads (the
  // backends, clients), and the child of a multi-threaded process may make only
  // async-signal-safe calls until it execs: an allocation there can wait forever on a lock
  // another thread held at the fork. Seen under ASan (whose allocator is not reset in the
  // child): now and then a server that never started, its log empty.
  const std::string path = std::string(getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin") + ":/usr/sbin:/sbin";
  std::string program = argv.at(0);
  if (program.find('/') == std::string::npos) {
    std::stringstream dirs(path);
    for (std::string dir; std::getline(dirs, dir, ':');) {
      const std::string candidate = (dir.empty() ? "." : dir) + "/" + program;
      if (::access(candidate.c_str(), X_OK) == 0) {
        program = candidate;
        break;
      }
    }
  }
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  std::vector<std::string> env = {"PATH=" + path};
  for (char** e = environ; *e; ++e) {
    if (std::strncmp(*e, "PATH=", 5) != 0) env.emplace_back(*e);
  }
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  const std::string exec_failed = "exec " + program + " failed\n";

  int fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("cannot open " + log_path_);
  pid_ = ::fork();
  if (pid_ == 0) {
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    int devnull = ::open("/dev/null", O_RDONLY);
    ::dup2(devnull, 0);
    // Nothing else of the test process: a backend's listening socket inherited by the server
    // would keep its port accepting after the test closed it.
    ::close_range(3, ~0U, 0);
    ::execve(program.c_str(), args.data(), envp.data());
    const ssize_t ignored = ::write(2, exec_failed.data(), exec_failed.size());
    (void)ignored;
    ::_exit(127);
  }
  ::close(fd);
}

Process::~Process() {
  if (!exited_) stop(SIGTERM, 3000ms);
}

bool Process::running() {
  if (exited_) return false;
  int st;
  pid_t r = ::waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    exited_ = true;
    status_ = st;
    return false;
  }
  return true;
}

void Process::signal(int sig) {
  if (!exited_) ::kill(pid_, sig);
}

int Process::stop(int sig, std::chrono::milliseconds timeout) {
  if (exited_) return status_;
  ::kill(pid_, sig);
  auto until = Clock::now() + timeout;
  while (Clock::now() < until) {
    if (!running()) return status_;
    std::this_thread::sleep_for(10ms);
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, &status_, 0);
  exited_ = true;
  return status_;
}

std::string Process::log() const {
  std::ifstream in(log_path_, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

size_t Process::log_size() const {
  struct stat st;
  return ::stat(log_path_.c_str(), &st) == 0 ? static_cast<size_t>(st.st_size) : 0;
}

std::optional<std::string> Process::wait_for_log(const std::string& re, std::chrono::milliseconds timeout,
                                                 size_t from) {
  std::regex rx(re);
  auto until = Clock::now() + timeout;
  for (;;) {
    std::string text = log();
    if (text.size() > from) {
      std::smatch m;
      std::string tail = text.substr(from);
      if (std::regex_search(tail, m, rx)) return m.size() > 1 ? m[1].str() : m[0].str();
    }
    if (Clock::now() >= until || !running()) return std::nullopt;
    std::this_thread::sleep_for(10ms);
  }
}

Pharos::Pharos(const std::string& config_path, const std::string& log_path) {
  proc_ = std::make_unique<Process>(std::vector<std::string>{pharos_binary(), "--config", config_path}, log_path);
  auto port = proc_->wait_for_log(R"(listening address=127\.0\.0\.1:(\d+))");
  if (!port) throw std::runtime_error("pharos did not start:\n" + proc_->log());
  port_ = static_cast<uint16_t>(std::stoi(*port));
}

std::string pharos_config(const std::vector<std::pair<std::string, std::string>>& zones,
                          const std::string& server_extra) {
  std::string s = "server:\n  listen: [\"127.0.0.1:0\"]\n  workers: 2\n" + server_extra + "zones:\n";
  for (const auto& [origin, file] : zones) s += "  - origin: " + origin + "\n    file: " + file + "\n";
  s += "log:\n  level: debug\n";
  return s;
}

namespace {

sockaddr_in loopback(uint16_t port, const std::string& address) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  ::inet_pton(AF_INET, address.c_str(), &a.sin_addr);
  return a;
}

bool wait_readable(int fd, std::chrono::milliseconds timeout) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, static_cast<int>(timeout.count())) == 1;
}

}  // namespace

std::optional<std::vector<uint8_t>> DnsClient::udp(const std::vector<uint8_t>& msg,
                                                   std::chrono::milliseconds timeout) const {
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a = loopback(port_, address_);
  ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  std::optional<std::vector<uint8_t>> out;
  if (::send(fd, msg.data(), msg.size(), 0) == static_cast<ssize_t>(msg.size()) && wait_readable(fd, timeout)) {
    std::vector<uint8_t> buf(65535);
    ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
    if (n >= 0) {
      buf.resize(static_cast<size_t>(n));
      out = std::move(buf);
    }
  }
  ::close(fd);
  return out;
}

int tcp_connect(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a = loopback(port, "127.0.0.1");
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool send_all(int fd, const uint8_t* p, size_t n) {
  while (n > 0) {
    ssize_t k = ::send(fd, p, n, MSG_NOSIGNAL);
    if (k <= 0) return false;
    p += k;
    n -= static_cast<size_t>(k);
  }
  return true;
}

namespace {
bool read_exact(int fd, uint8_t* p, size_t n, Clock::time_point until) {
  while (n > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
    if (left.count() <= 0 || !wait_readable(fd, left)) return false;
    ssize_t k = ::recv(fd, p, n, 0);
    if (k <= 0) return false;
    p += k;
    n -= static_cast<size_t>(k);
  }
  return true;
}
}  // namespace

std::optional<std::vector<uint8_t>> read_frame(int fd, std::chrono::milliseconds timeout) {
  auto until = Clock::now() + timeout;
  uint8_t len[2];
  if (!read_exact(fd, len, 2, until)) return std::nullopt;
  std::vector<uint8_t> msg((len[0] << 8) | len[1]);
  if (!read_exact(fd, msg.data(), msg.size(), until)) return std::nullopt;
  return msg;
}

bool wait_closed(int fd, std::chrono::milliseconds timeout) {
  auto until = Clock::now() + timeout;
  uint8_t buf[512];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
    if (left.count() <= 0 || !wait_readable(fd, left)) return false;
    ssize_t k = ::recv(fd, buf, sizeof buf, 0);
    if (k <= 0) return true;
  }
}

std::optional<std::vector<uint8_t>> DnsClient::tcp(const std::vector<uint8_t>& msg,
                                                   std::chrono::milliseconds timeout) const {
  int fd = tcp_connect(port_);
  if (fd < 0) return std::nullopt;
  std::vector<uint8_t> framed{static_cast<uint8_t>(msg.size() >> 8), static_cast<uint8_t>(msg.size())};
  framed.insert(framed.end(), msg.begin(), msg.end());
  std::optional<std::vector<uint8_t>> out;
  if (send_all(fd, framed.data(), framed.size())) out = read_frame(fd, timeout);
  ::close(fd);
  return out;
}

Packet DnsClient::query(const std::string& name, uint16_t type, bool over_tcp, const QueryOptions& o) const {
  auto wire = make_query(name, type, o);
  auto reply = over_tcp ? tcp(wire) : udp(wire);
  if (!reply) return Packet(nullptr);
  return parse(*reply);
}

}  // namespace pharos::test
