#include "edge/router.h"

#include <algorithm>

namespace pharos::edge {

void Router::add(Prefixes& list, const std::string& path, int pool) {
  list.push_back(Prefix{path, pool});
  std::stable_sort(list.begin(), list.end(), [](const Prefix& a, const Prefix& b) { return a.path.size() > b.path.size(); });
}

int Router::match(const Prefixes& list, std::string_view path) {
  for (const Prefix& p : list) {
    if (path.starts_with(p.path)) return p.pool;
  }
  return -1;
}

Router::Router(const std::vector<config::EdgeRoute>& routes, const std::vector<std::string>& pool_names) {
  for (const config::EdgeRoute& r : routes) {
    auto it = std::find(pool_names.begin(), pool_names.end(), r.pool);
    if (it == pool_names.end()) continue;  // the config loader refuses this
    const int pool = static_cast<int>(it - pool_names.begin());
    if (r.hosts.empty()) {
      add(any_, r.path, pool);
      continue;
    }
    for (const std::string& h : r.hosts) {
      if (h.starts_with("*.")) {
        const std::string suffix = h.substr(1);  // ".example.com"
        auto w = std::find_if(wildcards_.begin(), wildcards_.end(), [&](const auto& e) { return e.first == suffix; });
        if (w == wildcards_.end()) {
          wildcards_.emplace_back(suffix, Prefixes{});
          w = wildcards_.end() - 1;
        }
        add(w->second, r.path, pool);
      } else {
        add(exact_[h], r.path, pool);
      }
    }
  }
  std::stable_sort(wildcards_.begin(), wildcards_.end(),
                   [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
}

int Router::route(std::string_view host, std::string_view path) const {
  // A host's own routes decide alone when they match the path; otherwise the next tier is tried,
  // so "example.com /api/" and "* /" together send example.com/ to the route for any host.
  if (!exact_.empty()) {
    auto it = exact_.find(host);
    if (it != exact_.end()) {
      int p = match(it->second, path);
      if (p >= 0) return p;
    }
  }
  for (const auto& [suffix, list] : wildcards_) {
    if (host.size() > suffix.size() && host.ends_with(suffix)) {
      int p = match(list, path);
      if (p >= 0) return p;
    }
  }
  return match(any_, path);
}

}  // namespace pharos::edge
