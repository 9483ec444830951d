// The response writer: suffix compression, limits and rollback, OPT.
#include <catch2/catch.hpp>

#include "dns/name.h"
#include "dns/query.h"
#include "dns/writer.h"
#include "testlib/dns_helpers.h"

using namespace pharos;

namespace {

struct Setup {
  std::vector<uint8_t> request;
  dns::Query q;
  std::vector<uint8_t> buf = std::vector<uint8_t>(4096);
  dns::MessageWriter w;
  explicit Setup(const std::string& qname, size_t limit = 4096, size_t reserve = 0) {
    request = test::make_query(qname, 1, {.edns = false});
    REQUIRE(dns::parse_query(request.data(), request.size(), q) == dns::ParseStatus::Ok);
    w.begin(buf.data(), limit, reserve, q);
    w.set_flags(0x8400);
  }
  std::vector<uint8_t> wire(const std::string& text) {
    std::vector<uint8_t> out;
    REQUIRE(dns::name_from_text(text, out));
    return out;
  }
  std::vector<uint8_t> finish() {
    size_t n = w.finish();
    return std::vector<uint8_t>(buf.begin(), buf.begin() + static_cast<long>(n));
  }
};

}  // namespace

TEST_CASE("writer: owner equal to the question is a pointer to offset 12", "[dns]") {
  Setup s("www.example.com");
  uint8_t a[4] = {192, 0, 2, 1};
  REQUIRE(s.w.put_rr(dns::Section::Answer, s.q.qname, 1, 1, 60, a, 4));
  auto m = s.finish();
  // header 12 + question 21, then C0 0C.
  CHECK(m[33] == 0xC0);
  CHECK(m[34] == 12);
  auto p = test::parse(m);
  REQUIRE(p);
  CHECK(test::section(p.get(), LDNS_SECTION_ANSWER) ==
        std::vector<std::string>{"www.example.com.\t60\tin\ta\t192.0.2.1"});
}

TEST_CASE("writer: names share suffixes with names already written", "[dns]") {
  Setup s("example.com");
  auto mail = s.wire("mail.example.com.");
  std::vector<uint8_t> mx{0, 10};
  mx.insert(mx.end(), mail.begin(), mail.end());
  REQUIRE(s.w.put_rr(dns::Section::Answer, s.q.qname, 15, 1, 60, mx.data(), static_cast<uint16_t>(mx.size())));
  uint8_t a[4] = {192, 0, 2, 25};
  REQUIRE(s.w.put_rr(dns::Section::Additional, mail.data(), 1, 1, 60, a, 4));
  auto m = s.finish();
  // question 12+17 = 29; MX: ptr 2, fixed 10, pref 2, "mail" 5, ptr 2 = 21; A: ptr 2 + 10 + 4.
  CHECK(m.size() == 29 + 21 + 16);
  auto p = test::parse(m);
  REQUIRE(p);
  CHECK(test::section(p.get(), LDNS_SECTION_ADDITIONAL) ==
        std::vector<std::string>{"mail.example.com.\t60\tin\ta\t192.0.2.25"});
}

TEST_CASE("writer: names of uncompressible types are written in full", "[dns]") {
  Setup s("example.com");
  auto target = s.wire("sip.example.com.");
  std::vector<uint8_t> srv{0, 1, 0, 2, 0x13, 0xC4};
  srv.insert(srv.end(), target.begin(), target.end());
  REQUIRE(s.w.put_rr(dns::Section::Answer, s.q.qname, 33, 1, 60, srv.data(), static_cast<uint16_t>(srv.size())));
  auto m = s.finish();
  CHECK(m.size() == 29 + 2 + 10 + srv.size());
}

TEST_CASE("writer: a record past the limit is refused and rollback restores the message", "[dns]") {
  Setup s("example.com", 29 + 16 + 10);  // room for one A record and a bit
  uint8_t a[4] = {192, 0, 2, 1};
  auto mark = s.w.mark();
  REQUIRE(s.w.put_rr(dns::Section::Answer, s.q.qname, 1, 1, 60, a, 4));
  CHECK_FALSE(s.w.put_rr(dns::Section::Answer, s.q.qname, 1, 1, 60, a, 4));
  CHECK(s.w.count(dns::Section::Answer) == 1);
  CHECK(s.w.size() == 29 + 16);
  s.w.rollback(mark);
  CHECK(s.w.count(dns::Section::Answer) == 0);
  CHECK(s.w.size() == 29);
}

TEST_CASE("writer: the OPT record goes into the reserved space", "[dns]") {
  Setup s("example.com", 29 + 11, 11);
  uint8_t a[4] = {192, 0, 2, 1};
  CHECK_FALSE(s.w.put_rr(dns::Section::Answer, s.q.qname, 1, 1, 60, a, 4));
  s.w.put_opt(1232, 1, true, reinterpret_cast<const uint8_t*>("ns1"), 3);
  auto m = s.finish();
  CHECK(m.size() == 29 + 11 + 7);
  auto p = test::parse(m);
  REQUIRE(p);
  CHECK(ldns_pkt_edns_udp_size(p.get()) == 1232);
  CHECK(ldns_pkt_edns_do(p.get()));
  CHECK(ldns_pkt_edns_extended_rcode(p.get()) == 1);
}
