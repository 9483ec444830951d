#include "edge/client_limits.h"

#include <algorithm>

#include "edge/balancer.h"

namespace pharos::edge {

namespace {
// Tokens are counted in thousandths: refilling at `rate` per second adds exactly `rate` of
// them per millisecond, so no fraction is lost or counted twice.
constexpr uint64_t kOne = 1000;
constexpr uint64_t kMaxElapsed = 1u << 30;

// A bucket as stored: tokens << 32 | the time of the last refill (ms, wrapping); 0 is a slot
// nobody used (full).
uint64_t refill(uint64_t stored, uint32_t now, uint64_t rate, uint64_t burst_fp) {
  if (stored == 0) return burst_fp;
  const uint64_t tokens = stored >> 32;
  const uint64_t elapsed = std::min<uint64_t>(static_cast<uint32_t>(now - static_cast<uint32_t>(stored)), kMaxElapsed);
  return std::min(burst_fp, tokens + elapsed * rate);
}

uint64_t pack(uint64_t tokens, uint32_t now) {
  const uint64_t v = tokens << 32 | now;
  return v == 0 ? 1 : v;  // 0 means "never used"
}
}  // namespace

ClientLimiter::ClientLimiter(uint64_t seed)
    : conns_(new std::atomic<uint32_t>[kRows * kSlots]), buckets_(new std::atomic<uint64_t>[kRows * kSlots]) {
  for (size_t r = 0; r < kRows; ++r) seed_[r] = hash_bytes(&seed, sizeof seed, 0x9e3779b97f4a7c15ull * (r + 1));
  for (size_t i = 0; i < kRows * kSlots; ++i) {
    conns_[i].store(0, std::memory_order_relaxed);
    buckets_[i].store(0, std::memory_order_relaxed);
  }
}

ClientKey ClientLimiter::key_of(const boost::asio::ip::address& a, unsigned ipv6_prefix) const {
  uint8_t bytes[17];
  size_t n;
  if (a.is_v4() || (a.is_v6() && a.to_v6().is_v4_mapped())) {
    const auto b = a.is_v4() ? a.to_v4().to_bytes() : boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, a.to_v6()).to_bytes();
    bytes[0] = 4;
    std::copy(b.begin(), b.end(), bytes + 1);
    n = 5;
  } else {
    auto b = a.to_v6().to_bytes();
    const unsigned bits = std::min(ipv6_prefix, 128u);
    for (unsigned i = 0; i < 16; ++i) {
      const unsigned keep = bits > i * 8 ? std::min(8u, bits - i * 8) : 0;
      b[i] &= static_cast<uint8_t>(keep == 0 ? 0 : 0xff << (8 - keep));
    }
    bytes[0] = 6;
    std::copy(b.begin(), b.end(), bytes + 1);
    n = 17;
  }
  ClientKey k;
  for (size_t r = 0; r < kRows; ++r) k.slot[r] = static_cast<uint32_t>(hash_bytes(bytes, n, seed_[r]) % kSlots);
  return k;
}

bool ClientLimiter::open(const ClientKey& k, uint32_t cap) {
  uint32_t estimate = UINT32_MAX;
  for (size_t r = 0; r < kRows; ++r) {
    estimate = std::min(estimate, conns_[r * kSlots + k.slot[r]].fetch_add(1, std::memory_order_relaxed) + 1);
  }
  if (estimate <= cap) return true;
  close(k);
  return false;
}

void ClientLimiter::close(const ClientKey& k) {
  for (size_t r = 0; r < kRows; ++r) conns_[r * kSlots + k.slot[r]].fetch_sub(1, std::memory_order_relaxed);
}

uint32_t ClientLimiter::connections(const ClientKey& k) const {
  uint32_t estimate = UINT32_MAX;
  for (size_t r = 0; r < kRows; ++r) {
    estimate = std::min(estimate, conns_[r * kSlots + k.slot[r]].load(std::memory_order_relaxed));
  }
  return estimate;
}

bool ClientLimiter::take(const ClientKey& k, uint32_t rate, uint32_t burst, uint64_t now_ms) {
  const uint32_t now = static_cast<uint32_t>(now_ms);
  const uint64_t per_ms = std::max(rate, 1u);
  const uint64_t burst_fp = uint64_t{std::max(burst, 1u)} * kOne;
  // Another address only ever takes from a shared slot, so a slot holds at most what this
  // address's own bucket would: a token in either slot means the address has one.
  bool allowed = false;
  for (size_t r = 0; r < kRows; ++r) {
    if (refill(buckets_[r * kSlots + k.slot[r]].load(std::memory_order_relaxed), now, per_ms, burst_fp) >= kOne) {
      allowed = true;
    }
  }
  for (size_t r = 0; r < kRows; ++r) {
    std::atomic<uint64_t>& b = buckets_[r * kSlots + k.slot[r]];
    uint64_t old = b.load(std::memory_order_relaxed);
    for (;;) {
      uint64_t tokens = refill(old, now, per_ms, burst_fp);
      if (allowed && tokens >= kOne) tokens -= kOne;
      if (b.compare_exchange_weak(old, pack(tokens, now), std::memory_order_relaxed)) break;
    }
  }
  return allowed;
}

}  // namespace pharos::edge
