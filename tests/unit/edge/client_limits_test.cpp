// Per-client limits: connection caps and token buckets in the shared count-min table, with the
// clock passed in.
#include <catch2/catch.hpp>

#include <map>
#include <set>

#include "edge/client_limits.h"

using namespace pharos::edge;
namespace ip = boost::asio::ip;

TEST_CASE("edge client limits: a connection cap per address", "[edge]") {
  ClientLimiter l(42);
  const ClientKey a = l.key_of(ip::make_address("192.0.2.7"), 64);
  const ClientKey b = l.key_of(ip::make_address("192.0.2.8"), 64);
  CHECK(l.open(a, 2));
  CHECK(l.open(a, 2));
  CHECK_FALSE(l.open(a, 2));  // the third
  CHECK(l.connections(a) == 2);
  CHECK(l.open(b, 2));        // another address is not held back
  l.close(a);
  CHECK(l.open(a, 2));
  CHECK_FALSE(l.open(a, 2));
  l.close(a);
  l.close(a);
  l.close(b);
  CHECK(l.connections(a) == 0);
  CHECK(l.connections(b) == 0);
}

TEST_CASE("edge client limits: IPv6 clients are counted per prefix, IPv4-mapped as IPv4", "[edge]") {
  ClientLimiter l(7);
  const auto k1 = l.key_of(ip::make_address("2001:db8:1:2::1"), 64);
  const auto k2 = l.key_of(ip::make_address("2001:db8:1:2:ffff::9"), 64);
  const auto k3 = l.key_of(ip::make_address("2001:db8:1:3::1"), 64);
  CHECK((k1.slot[0] == k2.slot[0] && k1.slot[1] == k2.slot[1]));
  CHECK(l.open(k1, 1));
  CHECK_FALSE(l.open(k2, 1));  // the same /64
  CHECK(l.open(k3, 1));
  const auto whole1 = l.key_of(ip::make_address("2001:db8:1:2::1"), 128);
  const auto whole2 = l.key_of(ip::make_address("2001:db8:1:2::2"), 128);
  CHECK_FALSE((whole1.slot[0] == whole2.slot[0] && whole1.slot[1] == whole2.slot[1]));
  const auto v4 = l.key_of(ip::make_address("192.0.2.7"), 64);
  const auto mapped = l.key_of(ip::make_address("::ffff:192.0.2.7"), 64);
  CHECK((v4.slot[0] == mapped.slot[0] && v4.slot[1] == mapped.slot[1]));
}

TEST_CASE("edge client limits: a token bucket per address", "[edge]") {
  ClientLimiter l(1);
  const ClientKey a = l.key_of(ip::make_address("198.51.100.1"), 64);
  const ClientKey b = l.key_of(ip::make_address("198.51.100.2"), 64);
  uint64_t now = 1000000;
  // A full bucket of 5, refilled at 10 per second.
  for (int i = 0; i < 5; ++i) {
    INFO(i);
    CHECK(l.take(a, 10, 5, now));
  }
  CHECK_FALSE(l.take(a, 10, 5, now));
  CHECK(l.take(b, 10, 5, now));  // b has its own
  now += 99;
  CHECK_FALSE(l.take(a, 10, 5, now));  // not a whole token yet
  now += 1;
  CHECK(l.take(a, 10, 5, now));        // 100 ms: one
  CHECK_FALSE(l.take(a, 10, 5, now));
  // Over a long run the rate is kept: 10 per second, whatever the spacing of the attempts.
  int allowed = 0;
  for (int ms = 0; ms < 10000; ms += 7) allowed += l.take(a, 10, 5, now + static_cast<uint64_t>(ms)) ? 1 : 0;
  CHECK(allowed >= 99);
  CHECK(allowed <= 101);
  // Idle long enough, the bucket is full again, and no fuller.
  now += 60000;
  int burst = 0;
  while (l.take(a, 10, 5, now)) ++burst;
  CHECK(burst == 5);
  // A steady clock that wraps around 2^32 ms goes on counting.
  const uint64_t wrap = (uint64_t{1} << 32) - 50;
  ClientLimiter w(3);
  const ClientKey c = w.key_of(ip::make_address("203.0.113.9"), 64);
  for (int i = 0; i < 2; ++i) CHECK(w.take(c, 10, 2, wrap));
  CHECK_FALSE(w.take(c, 10, 2, wrap));
  CHECK(w.take(c, 10, 2, wrap + 100));
}

TEST_CASE("edge client limits: other addresses never push one over, and rarely hold it back", "[edge]") {
  // A flood from many addresses fills the table; a quiet address still gets its requests
  // unless both of its slots were drained, and its estimate is never below its own count.
  ClientLimiter l(99);
  const uint64_t now = 5000;
  std::set<uint32_t> drained0, drained1;
  std::map<uint32_t, uint32_t> open0, open1;  // flooders' connections per slot
  for (int i = 0; i < 2000; ++i) {
    const auto k = l.key_of(ip::make_address("10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256)), 64);
    while (l.take(k, 1, 3, now)) {
    }
    drained0.insert(k.slot[0]);
    drained1.insert(k.slot[1]);
    REQUIRE(l.open(k, 1000));
    ++open0[k.slot[0]];
    ++open1[k.slot[1]];
  }
  int held_back = 0, quiet = 0;
  for (int i = 0; i < 2000; ++i) {
    const auto k = l.key_of(ip::make_address("172.16." + std::to_string(i / 256) + "." + std::to_string(i % 256)), 64);
    const bool both = drained0.count(k.slot[0]) && drained1.count(k.slot[1]);
    ++quiet;
    if (!l.take(k, 1, 3, now)) {
      ++held_back;
      CHECK(both);  // only when both of its slots were used by others before
    }
    drained0.insert(k.slot[0]);
    drained1.insert(k.slot[1]);
    // Its estimate (it holds none itself) is what the quieter of its two slots holds from others.
    CHECK(l.connections(k) == std::min(open0[k.slot[0]], open1[k.slot[1]]));
  }
  // 2000 of 16384 slots drained in each row: about 1.5% of quiet addresses have both.
  CHECK(held_back < quiet / 20);
}
