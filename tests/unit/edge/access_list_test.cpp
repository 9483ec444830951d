// Allow and deny lists: the most specific network decides.
#include <catch2/catch.hpp>

#include "config/loader.h"
#include "edge/access_list.h"

using namespace pharos;
using namespace pharos::edge;
namespace ip = boost::asio::ip;

namespace {
std::vector<config::Prefix> nets(std::initializer_list<const char*> list) {
  std::vector<config::Prefix> out;
  for (const char* n : list) {
    config::Prefix p;
    std::string why;
    REQUIRE(config::detail::parse_prefix(n, p, why));
    out.push_back(p);
  }
  return out;
}
bool ok(const AccessList& a, const char* address) { return a.allowed(ip::make_address(address)); }
}  // namespace

TEST_CASE("edge access list: the most specific network decides", "[edge]") {
  AccessList none;
  CHECK(none.empty());
  CHECK(ok(none, "192.0.2.1"));

  AccessList deny_only({}, nets({"192.0.2.0/24", "2001:db8::/32"}));
  CHECK_FALSE(ok(deny_only, "192.0.2.200"));
  CHECK(ok(deny_only, "192.0.3.1"));
  CHECK_FALSE(ok(deny_only, "2001:db8:ffff::1"));
  CHECK(ok(deny_only, "2001:db9::1"));
  CHECK_FALSE(ok(deny_only, "::ffff:192.0.2.9"));  // IPv4-mapped counts as IPv4

  AccessList office(nets({"10.0.0.0/8", "2001:db8:1::/48", "127.0.0.1/32"}), nets({"10.1.0.0/16", "10.1.2.3/32"}));
  CHECK(ok(office, "10.2.3.4"));
  CHECK_FALSE(ok(office, "10.1.9.9"));
  CHECK_FALSE(ok(office, "10.1.2.3"));
  CHECK_FALSE(ok(office, "192.0.2.1"));   // in no list, and there is an allow list
  CHECK(ok(office, "127.0.0.1"));
  CHECK_FALSE(ok(office, "127.0.0.2"));
  CHECK(ok(office, "2001:db8:1:ffff::1"));
  CHECK_FALSE(ok(office, "2001:db8:2::1"));

  AccessList hole(nets({"10.1.2.0/24"}), nets({"10.0.0.0/8", "0.0.0.0/0", "::/0"}));
  CHECK(ok(hole, "10.1.2.77"));
  CHECK_FALSE(ok(hole, "10.1.3.77"));
  CHECK_FALSE(ok(hole, "8.8.8.8"));
  CHECK_FALSE(ok(hole, "2001:db8::1"));

  AccessList lengths(nets({"2001:db8::/65", "192.0.2.128/25"}), nets({"2001:db8::/64", "192.0.2.0/24"}));
  CHECK(ok(lengths, "2001:db8::1"));
  CHECK_FALSE(ok(lengths, "2001:db8::8000:0:0:1"));
  CHECK(ok(lengths, "192.0.2.129"));
  CHECK_FALSE(ok(lengths, "192.0.2.127"));
}
