// The balancing rules, over fixed member slots.
#include <catch2/catch.hpp>

#include <map>

#include "edge/balancer.h"

using namespace pharos;
using namespace pharos::edge;
using config::Balance;

namespace {

std::vector<MemberSlot> members(std::vector<unsigned> weights) {
  std::vector<MemberSlot> out;
  for (size_t i = 0; i < weights.size(); ++i) {
    MemberSlot s;
    s.weight = weights[i];
    std::string a = "127.0.0.1:" + std::to_string(8080 + i);
    s.key = hash_bytes(a.data(), a.size());
    out.push_back(s);
  }
  return out;
}

std::vector<int> run(Balance b, std::vector<MemberSlot>& m, PoolCursor& c, int n, uint64_t client = 0) {
  std::vector<int> out;
  for (int i = 0; i < n; ++i) out.push_back(pick(b, m, c, client));
  return out;
}

}  // namespace

TEST_CASE("edge balancer: round robin takes usable members in turn, weights ignored", "[edge]") {
  auto m = members({1, 5, 1});
  PoolCursor c;
  CHECK(run(Balance::RoundRobin, m, c, 6) == std::vector<int>{0, 1, 2, 0, 1, 2});
  m[1].usable = false;
  CHECK(run(Balance::RoundRobin, m, c, 4) == std::vector<int>{0, 2, 0, 2});
  for (auto& s : m) s.usable = false;
  CHECK(pick(Balance::RoundRobin, m, c, 0) == -1);
}

TEST_CASE("edge balancer: weighted is smooth and exact over a cycle", "[edge]") {
  auto m = members({5, 1, 1});
  PoolCursor c;
  // nginx's smooth weighted round-robin: a a b a c a a.
  CHECK(run(Balance::Weighted, m, c, 7) == std::vector<int>{0, 0, 1, 0, 2, 0, 0});
  std::map<int, int> counts;
  for (int i : run(Balance::Weighted, m, c, 700)) ++counts[i];
  CHECK(counts[0] == 500);
  CHECK(counts[1] == 100);
  CHECK(counts[2] == 100);
  m[0].usable = false;
  counts.clear();
  for (int i : run(Balance::Weighted, m, c, 10)) ++counts[i];
  CHECK(counts[0] == 0);
  CHECK(counts[1] == 5);
  CHECK(counts[2] == 5);
}

TEST_CASE("edge balancer: least connections, relative to weight, ties in turn", "[edge]") {
  auto m = members({1, 1, 2});
  PoolCursor c;
  m[0].active = 3;
  m[1].active = 1;
  m[2].active = 3;  // (3+1)/2 = 2 > (1+1)/1 = 2? equal: the tie goes in turn
  const int first = pick(Balance::LeastConnections, m, c, 0);
  CHECK((first == 1 || first == 2));
  m[1].active = 0;
  CHECK(pick(Balance::LeastConnections, m, c, 0) == 1);
  m[1].usable = false;
  CHECK(pick(Balance::LeastConnections, m, c, 0) == 2);
  // All idle: each in turn.
  auto idle = members({1, 1, 1});
  PoolCursor c2;
  CHECK(run(Balance::LeastConnections, idle, c2, 3) == std::vector<int>{0, 1, 2});
}

TEST_CASE("edge balancer: ip hash keeps a client's member and moves only the clients of a member that goes", "[edge]") {
  auto m = members({1, 1, 1, 1});
  PoolCursor c;
  std::map<uint64_t, int> before;
  std::map<int, int> load;
  for (uint64_t client = 1; client <= 4000; ++client) {
    const uint64_t key = hash_bytes(&client, sizeof client);
    const int a = pick(Balance::IpHash, m, c, key);
    CHECK(a == pick(Balance::IpHash, m, c, key));  // stable
    before[key] = a;
    ++load[a];
  }
  for (int i = 0; i < 4; ++i) {
    INFO(i);
    CHECK(load[i] > 800);  // spread (1000 each on average)
  }
  m[2].usable = false;
  size_t moved = 0;
  for (const auto& [key, a] : before) {
    const int now = pick(Balance::IpHash, m, c, key);
    CHECK(now != 2);
    if (a != 2) CHECK(now == a);  // nobody else moves
    moved += now != a;
  }
  CHECK(moved == static_cast<size_t>(load[2]));
}

TEST_CASE("edge balancer: ip hash follows weights", "[edge]") {
  auto m = members({3, 1});
  PoolCursor c;
  int first = 0;
  for (uint64_t client = 1; client <= 4000; ++client) {
    const uint64_t key = hash_bytes(&client, sizeof client);
    first += pick(Balance::IpHash, m, c, key) == 0;
  }
  CHECK(first > 2700);  // 3000 expected
  CHECK(first < 3300);
}
