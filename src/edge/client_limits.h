// Limits per client address, shared by every worker without locks: how many connections an
// address may hold open (a cap), and how fast it may send requests (a token bucket).
//
// Counting every address exactly would take a table that grows with the clients (and a lock, or
// a concurrent map). Instead the counts live in two fixed rows of atomics, each indexed by its
// own keyed hash of the address (a count-min sketch): an address's estimate is the smallest of
// its two slots. Another address that lands in a slot only adds to it, so an estimate is never
// below the truth: a client is never allowed more than its limit, and is held below it only
// when both of its slots are shared with busier addresses (with 16384 slots a row, rare, and
// unpredictable without the per-process key). Memory is fixed: 2 x 16384 x 12 bytes = 384 KiB.
//
// IPv6 clients are counted per prefix (a /64 by default), since one host can use a whole /64.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include <boost/asio/ip/address.hpp>

namespace pharos::edge {

// Where an address's counts live.
struct ClientKey {
  uint32_t slot[2] = {0, 0};
};

class ClientLimiter {
 public:
  static constexpr size_t kRows = 2;
  static constexpr size_t kSlots = 1 << 14;  // per row

  explicit ClientLimiter(uint64_t seed);

  ClientKey key_of(const boost::asio::ip::address& a, unsigned ipv6_prefix) const;

  // Counts a connection from `k` unless that would make more than `cap` (then nothing is counted
  // and the answer is false). Every true needs a close().
  bool open(const ClientKey& k, uint32_t cap);
  void close(const ClientKey& k);
  uint32_t connections(const ClientKey& k) const;  // the estimate

  // A request from `k` at `now_ms` (any steady clock in milliseconds): true, taking a token,
  // when its bucket (refilled at `rate` per second, holding at most `burst`) has one.
  bool take(const ClientKey& k, uint32_t rate, uint32_t burst, uint64_t now_ms);

 private:
  uint64_t seed_[kRows];
  std::unique_ptr<std::atomic<uint32_t>[]> conns_;    // [row * kSlots + slot]
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // tokens (1/1000ths) << 32 | last refill (ms, wrapping)
};

}  // namespace pharos::edge
