// Routing: (Host, path) -> pool. Built once per config generation, read by every worker without
// locks. An exact host beats a wildcard ("*.example.com", one or more labels in front), which
// beats the routes for any host; within the chosen host, the longest matching path prefix wins.
#pragma once

#include <string>
#include <string_view>
#include <functional>
#include <unordered_map>
#include <vector>

#include "config/config.h"

namespace pharos::edge {

class Router {
 public:
  // `pool_index` maps each route's pool name to its position (the caller's pool list).
  Router(const std::vector<config::EdgeRoute>& routes, const std::vector<std::string>& pool_names);
  Router() = default;

  // The pool for a normalised host (lowercase, no port) and a request path; -1: no route.
  int route(std::string_view host, std::string_view path) const;

 private:
  struct Prefix {
    std::string path;
    int pool;
  };
  using Prefixes = std::vector<Prefix>;  // longest first
  static int match(const Prefixes& list, std::string_view path);
  static void add(Prefixes& list, const std::string& path, int pool);

  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, Prefixes, Hash, std::equal_to<>> exact_;  // find() by string_view
  std::vector<std::pair<std::string, Prefixes>> wildcards_;  // suffix ".example.com", longest first
  Prefixes any_;
};

}  // namespace pharos::edge
