// A small, fast pseudo-random generator (xoshiro256**), one per worker: answers that pick at
// random (weighted, multivalue) draw from it without locks. Seeded explicitly, so tests get
// the same sequence every run.
#pragma once

#include <bit>
#include <cstdint>

namespace pharos {

class Rng {
 public:
  explicit Rng(uint64_t seed = 0x9E3779B97F4A7C15ull) { reseed(seed); }

  void reseed(uint64_t seed) {
    // splitmix64 spreads any seed, even 0, over the four words.
    for (uint64_t& w : s_) {
      seed += 0x9E3779B97F4A7C15ull;
      uint64_t z = seed;
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
      w = z ^ (z >> 31);
    }
    used_ = kSlackBits;  // the next below() starts a fresh word
  }

  uint64_t next() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  // Uniform in [0, n), n > 0, without division or retry. Lemire's multiply-shift: the high half
  // of word * n is the draw, and the low half is the unused rest of the word, which the next
  // draw multiplies again; a fresh generator step is taken once the ranges drawn from one word
  // could multiply past 2^32 (counted as the sum of their bit widths). Every draw thus keeps at
  // least 32 bits of slack: its bias is below 2^-32. Picking two answers of a few members costs
  // one step, not two. (Brackett-Rozinsky and Lemire, "Batched ranged random integer
  // generation", Software: Practice and Experience, 2024: the same scheme, here without their
  // exactness check.)
  uint32_t below(uint32_t n) {
    const unsigned w = static_cast<unsigned>(std::bit_width(n));
    if (used_ + w > kSlackBits) {
      word_ = next();
      used_ = 0;
    }
    used_ += w;
    const U128 m = static_cast<U128>(word_) * n;
    word_ = static_cast<uint64_t>(m);
    return static_cast<uint32_t>(m >> 64);
  }

 private:
  __extension__ typedef unsigned __int128 U128;
  static constexpr unsigned kSlackBits = 32;

  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
  uint64_t word_ = 0;        // what is left of the last word for below()
  unsigned used_ = kSlackBits;  // bits of range drawn from it
};

}  // namespace pharos
