// Routing by host and path prefix.
#include <catch2/catch.hpp>

#include "edge/router.h"

using namespace pharos;
using namespace pharos::edge;

namespace {

config::EdgeRoute route(std::vector<std::string> hosts, std::string path, std::string pool) {
  config::EdgeRoute r;
  r.hosts = std::move(hosts);
  r.path = std::move(path);
  r.pool = std::move(pool);
  return r;
}

}  // namespace

TEST_CASE("edge router: exact host, wildcard, any host, longest path", "[edge]") {
  const std::vector<std::string> pools{"web", "api", "admin", "tenant", "fallback"};
  Router r({route({"example.com", "www.example.com"}, "/", "web"), route({"example.com"}, "/api/", "api"),
            route({"example.com"}, "/api/admin/", "admin"), route({"*.example.net"}, "/", "tenant"),
            route({}, "/", "fallback")},
           pools);
  CHECK(r.route("example.com", "/") == 0);
  CHECK(r.route("example.com", "/index.html") == 0);
  CHECK(r.route("www.example.com", "/api/x") == 0);  // /api/ is only for example.com
  CHECK(r.route("example.com", "/api/x") == 1);
  CHECK(r.route("example.com", "/api") == 0);  // a prefix, as written
  CHECK(r.route("example.com", "/api/admin/users") == 2);
  CHECK(r.route("a.example.net", "/") == 3);
  CHECK(r.route("a.b.example.net", "/x") == 3);
  CHECK(r.route("example.net", "/") == 4);  // the wildcard needs a label in front
  CHECK(r.route("other.org", "/") == 4);
  CHECK(r.route("", "/") == 4);
}

TEST_CASE("edge router: a host's own routes fall through to routes for any host", "[edge]") {
  Router r({route({"example.com"}, "/api/", "api"), route({}, "/static/", "static")}, {"api", "static"});
  CHECK(r.route("example.com", "/api/v1") == 0);
  CHECK(r.route("example.com", "/static/a.css") == 1);
  CHECK(r.route("example.com", "/") == -1);
  CHECK(r.route("other.org", "/api/v1") == -1);
}
