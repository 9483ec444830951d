#include <catch2/catch.hpp>

#include <set>
#include <vector>

#include "edge/stream.h"

using pharos::edge::ExactAllocator;
using pharos::edge::ExactBlocks;

TEST_CASE("edge stream: exact blocks are given again only for the same size, a few per thread", "[edge]") {
  ExactBlocks::trim();  // whatever an earlier test left on this thread
  void* a = ExactBlocks::take(152);
  void* b = ExactBlocks::take(200);
  ExactBlocks::give(a, 152);
  ExactBlocks::give(b, 200);
  CHECK(ExactBlocks::take(152) == a);  // the same size: the kept block
  void* c = ExactBlocks::take(160);    // another size: not the 200-byte one
  CHECK(c != b);
  CHECK(ExactBlocks::take(200) == b);
  ExactBlocks::give(a, 152);
  ExactBlocks::give(b, 200);
  ExactBlocks::give(c, 160);
  ExactBlocks::trim();

  // Through the allocator, as asio uses it (rebound to the operation's type).
  struct Op {
    char bytes[136];
  };
  ExactAllocator<Op> alloc{ExactAllocator<void>()};
  Op* op = alloc.allocate(1);
  alloc.deallocate(op, 1);
  Op* again = alloc.allocate(1);
  CHECK(again == op);
  alloc.deallocate(again, 1);
  ExactBlocks::trim();

  // More blocks given than are kept: the rest are freed (ASan would see a leak or a double
  // free), and a kept block is never given out twice.
  std::vector<void*> many;
  for (int i = 0; i < 20; ++i) many.push_back(ExactBlocks::take(96));
  for (void* p : many) ExactBlocks::give(p, 96);
  std::set<void*> taken;
  for (int i = 0; i < 20; ++i) taken.insert(ExactBlocks::take(96));
  CHECK(taken.size() == 20);
  for (void* p : taken) ExactBlocks::give(p, 96);
  ExactBlocks::trim();
}
