// Allow and deny lists of networks (CIDR). The most specific network that holds an address
// decides; an address in none is allowed when the allow list is empty, and refused otherwise.
// So "allow 10.0.0.0/8, deny 10.1.0.0/16" admits 10.2.3.4 and refuses 10.1.2.3 and 192.0.2.1.
// Built once per config generation, read by every worker without locks: a lookup probes one
// hash set per distinct prefix length, longest first.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <vector>

#include <boost/asio/ip/address.hpp>

#include "config/config.h"

namespace pharos::edge {

class AccessList {
 public:
  AccessList() = default;
  AccessList(const std::vector<config::Prefix>& allow, const std::vector<config::Prefix>& deny);

  bool empty() const { return !has_allow_ && v4_.empty() && v6_.empty(); }
  bool allowed(const boost::asio::ip::address& a) const;

  struct Key {  // an address or network, 32 or 128 bits
    uint64_t hi = 0, lo = 0;
    bool operator==(const Key&) const = default;
  };

 private:
  struct KeyHash {
    size_t operator()(const Key& k) const { return static_cast<size_t>(k.hi * 0x9e3779b97f4a7c15ull ^ k.lo); }
  };
  struct Length {
    unsigned bits;
    std::unordered_map<Key, bool, KeyHash> nets;  // network -> allowed
  };
  static Key mask(Key k, unsigned bits, unsigned width);
  void add(const config::Prefix& p, bool allow);
  static int find(const std::vector<Length>& lengths, Key k, unsigned width);  // 1 allow, 0 deny, -1 none

  bool has_allow_ = false;
  std::vector<Length> v4_, v6_;  // longest first
};

}  // namespace pharos::edge
