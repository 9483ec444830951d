// Longest-prefix match over IPv4 and IPv6 prefixes on a binary trie. Besides the match it gives
// the ECS scope (RFC 7871 §7.2.1): how many leading bits of the address decided the answer, so
// a resolver may cache it for exactly the network that shares it.
#pragma once

#include <cstdint>
#include <vector>

namespace pharos::policy {

class CidrTable {
 public:
  static constexpr uint32_t kNone = 0xFFFFFFFFu;

  CidrTable();

  // Maps the `len`-bit prefix of `addr` (4 or 16 bytes) to `value`. A later add of the same
  // prefix replaces the value.
  void add(bool v6, const uint8_t* addr, unsigned len, uint32_t value);

  struct Match {
    uint32_t value = kNone;  // the value of the longest matching prefix, or kNone
    uint8_t scope = 0;       // leading bits that decided it
  };
  // Looks up the first `bits` bits of `addr` (the rest is unknown, as with an ECS source prefix).
  Match lookup(bool v6, const uint8_t* addr, unsigned bits) const;

  bool empty() const { return nodes_.size() == 2; }

 private:
  struct Node {
    uint32_t child[2] = {kNone, kNone};
    uint32_t value = kNone;
  };
  std::vector<Node> nodes_;  // [0] the IPv4 root, [1] the IPv6 root
};

}  // namespace pharos::policy
