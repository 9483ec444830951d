#include "edge/access_list.h"

#include <algorithm>

namespace pharos::edge {

namespace {
AccessList::Key key_of(const uint8_t* bytes, unsigned width) {
  uint64_t hi = 0, lo = 0;
  if (width == 32) {
    for (int i = 0; i < 4; ++i) lo = lo << 8 | bytes[i];
  } else {
    for (int i = 0; i < 8; ++i) hi = hi << 8 | bytes[i];
    for (int i = 8; i < 16; ++i) lo = lo << 8 | bytes[i];
  }
  return {hi, lo};
}
}  // namespace

AccessList::Key AccessList::mask(Key k, unsigned bits, unsigned width) {
  if (width == 32) {
    k.lo &= bits == 0 ? 0 : (0xffffffffull << (32 - bits)) & 0xffffffffull;
    return k;
  }
  if (bits <= 64) {
    k.hi &= bits == 0 ? 0 : ~uint64_t{0} << (64 - bits);
    k.lo = 0;
  } else {
    k.lo &= ~uint64_t{0} << (128 - bits);
  }
  return k;
}

void AccessList::add(const config::Prefix& p, bool allow) {
  const unsigned width = p.v6 ? 128 : 32;
  auto& lengths = p.v6 ? v6_ : v4_;
  auto it = std::find_if(lengths.begin(), lengths.end(), [&](const Length& l) { return l.bits == p.len; });
  if (it == lengths.end()) {
    lengths.push_back(Length{p.len, {}});
    it = lengths.end() - 1;
  }
  it->nets[mask(key_of(p.addr, width), p.len, width)] = allow;
}

AccessList::AccessList(const std::vector<config::Prefix>& allow, const std::vector<config::Prefix>& deny) {
  for (const auto& p : allow) add(p, true);
  for (const auto& p : deny) add(p, false);
  has_allow_ = !allow.empty();
  auto longest_first = [](const Length& a, const Length& b) { return a.bits > b.bits; };
  std::sort(v4_.begin(), v4_.end(), longest_first);
  std::sort(v6_.begin(), v6_.end(), longest_first);
}

int AccessList::find(const std::vector<Length>& lengths, Key k, unsigned width) {
  for (const Length& l : lengths) {
    auto it = l.nets.find(mask(k, l.bits, width));
    if (it != l.nets.end()) return it->second ? 1 : 0;
  }
  return -1;
}

bool AccessList::allowed(const boost::asio::ip::address& a) const {
  int verdict;
  if (a.is_v4() || a.to_v6().is_v4_mapped()) {
    const auto b = a.is_v4() ? a.to_v4().to_bytes()
                             : boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, a.to_v6()).to_bytes();
    verdict = find(v4_, key_of(b.data(), 32), 32);
  } else {
    const auto b = a.to_v6().to_bytes();
    verdict = find(v6_, key_of(b.data(), 128), 128);
  }
  if (verdict >= 0) return verdict == 1;
  return !has_allow_;
}

}  // namespace pharos::edge
