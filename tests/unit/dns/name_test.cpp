#include <catch2/catch.hpp>

#include "dns/name.h"

using namespace pharos::dns;

TEST_CASE("name: text to wire and back, relative names, escapes", "[dns]") {
  std::vector<uint8_t> w;
  REQUIRE(name_from_text("WWW.Example.COM.", w));
  CHECK(w == std::vector<uint8_t>{3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0});
  CHECK(name_to_text(w.data()) == "www.example.com.");
  std::vector<uint8_t> origin;
  REQUIRE(name_from_text("example.com.", origin));
  REQUIRE(name_from_text("mail", w, origin.data()));
  CHECK(name_to_text(w.data()) == "mail.example.com.");
  REQUIRE(name_from_text("@", w, origin.data()));
  CHECK(w == origin);
  REQUIRE(name_from_text("a\\.b.example.com.", w));
  CHECK(w[0] == 3);
  CHECK(name_to_text(w.data()) == "a\\.b.example.com.");
  REQUIRE(name_from_text("\\065.test.", w));
  CHECK(name_to_text(w.data()) == "a.test.");
  REQUIRE(name_from_text(".", w));
  CHECK(w == std::vector<uint8_t>{0});
}

TEST_CASE("name: malformed text is refused", "[dns]") {
  std::vector<uint8_t> w;
  CHECK_FALSE(name_from_text("", w));
  CHECK_FALSE(name_from_text("a..b.", w));
  CHECK_FALSE(name_from_text(std::string(64, 'a') + ".test.", w));
  std::string long_name;
  for (int i = 0; i < 60; ++i) long_name += "abcd.";
  CHECK_FALSE(name_from_text(long_name, w));
  CHECK_FALSE(name_from_text("\\999.test.", w));
}

TEST_CASE("name: subdomain test works on label boundaries", "[dns]") {
  std::vector<uint8_t> a, b, c;
  REQUIRE(name_from_text("www.example.com.", a));
  REQUIRE(name_from_text("example.com.", b));
  REQUIRE(name_from_text("ample.com.", c));
  CHECK(is_subdomain(a.data(), a.size(), b.data(), b.size()));
  CHECK(is_subdomain(b.data(), b.size(), b.data(), b.size()));
  CHECK_FALSE(is_subdomain(b.data(), b.size(), a.data(), a.size()));
  CHECK_FALSE(is_subdomain(b.data(), b.size(), c.data(), c.size()));
  std::vector<uint8_t> root{0};
  CHECK(is_subdomain(a.data(), a.size(), root.data(), 1));
}

TEST_CASE("name: labels are indexed and hashes depend on every byte", "[dns]") {
  std::vector<uint8_t> w;
  REQUIRE(name_from_text("a.bb.ccc.", w));
  uint8_t off[128];
  CHECK(index_labels(w.data(), off) == 3);
  CHECK(off[0] == 0);
  CHECK(off[1] == 2);
  CHECK(off[2] == 5);
  CHECK(count_labels(w.data()) == 3);
  CHECK(name_length(w.data()) == w.size());
  std::vector<uint8_t> v = w;
  v[4] = 'x';
  CHECK(hash_bytes(w.data(), w.size()) != hash_bytes(v.data(), v.size()));
}

TEST_CASE("name: reading from a message follows pointers and refuses loops", "[dns]") {
  // "example.com" at 0, then "www" + pointer to 0 at 13.
  std::vector<uint8_t> msg{7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0, 3, 'w', 'w', 'w', 0xC0, 0};
  uint8_t out[255];
  size_t next = 0;
  size_t n = read_name(msg.data(), msg.size(), 13, out, next);
  REQUIRE(n == 17);
  CHECK(next == 19);
  CHECK(name_to_text(out) == "www.example.com.");
  std::vector<uint8_t> loop{0xC0, 0};
  CHECK(read_name(loop.data(), loop.size(), 0, out, next) == 0);
  std::vector<uint8_t> forward{0xC0, 2, 0};
  CHECK(read_name(forward.data(), forward.size(), 0, out, next) == 0);
  std::vector<uint8_t> cut{3, 'w', 'w'};
  CHECK(read_name(cut.data(), cut.size(), 0, out, next) == 0);
}
