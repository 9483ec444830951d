// The worker's random source: below() is uniform, also for the draws that share one generator
// step, and a reseed replays the same sequence.
#include <catch2/catch.hpp>

#include <map>
#include <vector>

#include "common/rng.h"

using pharos::Rng;

TEST_CASE("rng: below(n) is uniform, alone and in pairs drawn from one step", "[rng]") {
  Rng rng(12345);
  for (uint32_t n : {2u, 3u, 5u, 6u, 7u, 100u}) {
    INFO("n = " << n);
    const int draws = 20000 * static_cast<int>(n);
    std::vector<int> count(n);
    for (int i = 0; i < draws; ++i) {
      uint32_t r = rng.below(n);
      REQUIRE(r < n);
      ++count[r];
    }
    for (uint32_t v = 0; v < n; ++v) CHECK(count[v] == Approx(20000).epsilon(0.05));
  }
  // Consecutive draws mostly come from one generator word: their pairs must be uniform too.
  std::map<std::pair<uint32_t, uint32_t>, int> pairs;
  for (int i = 0; i < 90000; ++i) {
    uint32_t a = rng.below(3);
    uint32_t b = rng.below(3);
    ++pairs[{a, b}];
  }
  REQUIRE(pairs.size() == 9);
  for (const auto& [ab, count] : pairs) CHECK(count == Approx(10000).epsilon(0.05));
}

TEST_CASE("rng: large ranges and a bound of 1 stay in range", "[rng]") {
  Rng rng(7);
  uint32_t top = 0;
  for (int i = 0; i < 10000; ++i) {
    CHECK(rng.below(1) == 0);
    uint32_t r = rng.below(0xFFFFFFFFu);
    top = r > top ? r : top;
  }
  CHECK(top > 0xF0000000u);  // the high end is reached
}

TEST_CASE("rng: the same seed, or a reseed, replays the same draws", "[rng]") {
  Rng a(99), b(99);
  std::vector<uint32_t> first;
  for (int i = 0; i < 100; ++i) {
    first.push_back(a.below(10));
    CHECK(first.back() == b.below(10));
  }
  // Reseeding mid-word starts afresh: leftover bits of the old word are not used.
  a.below(3);
  a.reseed(99);
  for (int i = 0; i < 100; ++i) CHECK(a.below(10) == first[i]);
}
