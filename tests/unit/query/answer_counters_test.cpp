// AnswerCounters: one block per worker, each on cache lines of its own, summed on read.
#include <catch2/catch.hpp>

#include <cstdint>

#include "query/answer_counters.h"

using pharos::query::AnswerCounters;

TEST_CASE("answer counters: each worker's block starts a cache line, and reads sum the blocks", "[query]") {
  for (size_t members : {1, 3, 8, 13}) {
    INFO("members " << members);
    AnswerCounters c(members, 2, 3);
    for (unsigned slot = 0; slot < 3; ++slot) {
      const auto at = reinterpret_cast<uintptr_t>(c.block(slot));
      CHECK(at % 64 == 0);
      if (slot) CHECK(c.block(slot) - c.block(slot - 1) >= static_cast<ptrdiff_t>(members + 2));
    }
    c.block(0)[0].inc();
    c.block(1)[0].inc(2);
    c.block(2)[members - 1].inc(5);
    c.block(7)[c.fallback_index(1)].inc();  // past the last slot: shares the last block
    CHECK(c.member(0) == (members == 1 ? 8u : 3u));
    CHECK(c.member(members - 1) == (members == 1 ? 8u : 5u));
    CHECK(c.fallback(1) == 1);
    CHECK(c.fallback(0) == 0);
    CHECK(c.members() == members);
    CHECK(c.records() == 2);
  }
}
