#include "edge/balancer.h"

#include <cmath>

namespace pharos::edge {

uint64_t hash_bytes(const void* data, size_t size, uint64_t seed) {
  const auto* p = static_cast<const unsigned char*>(data);
  uint64_t h = 14695981039346656037ull ^ seed;
  for (size_t i = 0; i < size; ++i) h = (h ^ p[i]) * 1099511628211ull;
  // splitmix64 finaliser: FNV's low bits alone are weak for small inputs.
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  h ^= h >> 31;
  return h;
}

int pick(config::Balance rule, std::span<const MemberSlot> m, PoolCursor& c, uint64_t client_key) {
  const size_t n = m.size();
  if (n == 0) return -1;
  switch (rule) {
    case config::Balance::RoundRobin: {
      for (size_t k = 0; k < n; ++k) {
        const size_t i = (c.next + k) % n;
        if (m[i].usable) {
          c.next = static_cast<uint32_t>((i + 1) % n);
          return static_cast<int>(i);
        }
      }
      return -1;
    }
    case config::Balance::Weighted: {
      if (c.current.size() != n) c.current.assign(n, 0);
      int64_t total = 0;
      int best = -1;
      for (size_t i = 0; i < n; ++i) {
        if (!m[i].usable) continue;
        c.current[i] += m[i].weight;
        total += m[i].weight;
        if (best < 0 || c.current[i] > c.current[static_cast<size_t>(best)]) best = static_cast<int>(i);
      }
      if (best >= 0) c.current[static_cast<size_t>(best)] -= total;
      return best;
    }
    case config::Balance::LeastConnections: {
      int best = -1;
      for (size_t k = 0; k < n; ++k) {
        const size_t i = (c.next + k) % n;
        if (!m[i].usable) continue;
        if (best < 0) {
          best = static_cast<int>(i);
          continue;
        }
        const MemberSlot& b = m[static_cast<size_t>(best)];
        // (active_i + 1) / w_i < (active_b + 1) / w_b, without division.
        const int64_t lhs = (int64_t{m[i].active} + 1) * b.weight;
        const int64_t rhs = (int64_t{b.active} + 1) * m[i].weight;
        if (lhs < rhs) best = static_cast<int>(i);
      }
      if (best >= 0) c.next = static_cast<uint32_t>((static_cast<size_t>(best) + 1) % n);
      return best;
    }
    case config::Balance::IpHash: {
      int best = -1;
      double best_score = 0;
      for (size_t i = 0; i < n; ++i) {
        if (!m[i].usable) continue;
        const uint64_t h = hash_bytes(&client_key, sizeof client_key, m[i].key);
        // A uniform number in (0, 1); score = -weight / ln(u): the highest wins, with odds
        // proportional to weight.
        const double u = (static_cast<double>(h >> 11) + 0.5) / 9007199254740992.0;
        const double score = -static_cast<double>(m[i].weight) / std::log(u);
        if (best < 0 || score > best_score) {
          best = static_cast<int>(i);
          best_score = score;
        }
      }
      return best;
    }
  }
  return -1;
}

}  // namespace pharos::edge
