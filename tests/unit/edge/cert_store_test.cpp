// Certificates: loading, choosing by SNI, reloading, and refusing a key that does not match.
#include <catch2/catch.hpp>

#include <stdlib.h>

#include <filesystem>

#include "edge/cert_store.h"
#include "unit/edge/pki.h"

using namespace pharos;
using namespace pharos::edge;
using namespace pharos::edge::test;
namespace fs = std::filesystem;

namespace {

struct Dir {
  Dir() {
    std::string t = (fs::temp_directory_path() / "pharos-edge-cert-XXXXXX").string();
    REQUIRE(mkdtemp(t.data()) != nullptr);
    path = t;
  }
  ~Dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  fs::path path;
};

config::EdgeCertificate live(const fs::path& dir, std::vector<std::string> hosts = {}) {
  config::EdgeCertificate c;
  c.cert_file = (dir / "fullchain.pem").string();
  c.key_file = (dir / "privkey.pem").string();
  c.hosts = std::move(hosts);
  return c;
}

}  // namespace

TEST_CASE("edge certs: SNI picks the certificate by exact name, then wildcard, else the first", "[edge]") {
  Pki pki;
  Dir d;
  Pki::write_live(d.path / "a", pki.leaf("a.test", "DNS:a.test,DNS:www.a.test"));
  Pki::write_live(d.path / "b", pki.leaf("b.test", "DNS:*.b.test", KeyType::Rsa));
  Pki::write_live(d.path / "c", pki.leaf("c.test", "DNS:ignored.test"));
  auto load = load_certificates({live(d.path / "a"), live(d.path / "b"), live(d.path / "c", {"c.test"})}, nullptr);
  INFO((load.errors.empty() ? "" : load.errors[0]));
  REQUIRE(load.errors.empty());
  REQUIRE(load.loaded.size() == 3);
  CHECK(load.loaded[0].find("names=a.test,www.a.test key=ECDSA-256") != std::string::npos);
  CHECK(load.loaded[1].find("names=*.b.test key=RSA-2048") != std::string::npos);
  const CertSet& set = *load.set;
  SSL_CTX* a = set.entries()[0].ctx.get();
  SSL_CTX* b = set.entries()[1].ctx.get();
  SSL_CTX* c = set.entries()[2].ctx.get();
  CHECK(set.select("a.test") == a);
  CHECK(set.select("www.a.test") == a);
  CHECK(set.select("x.b.test") == b);
  CHECK(set.select("b.test") == a);       // the wildcard needs a label: default
  CHECK(set.select("x.y.b.test") == a);   // and only one
  CHECK(set.select("c.test") == c);       // configured hosts replace the certificate's names
  CHECK(set.select("ignored.test") == a);
  CHECK(set.select("") == a);
  CHECK(set.default_ctx() == a);
}

TEST_CASE("edge certs: a reload keeps unchanged contexts and replaces changed ones", "[edge]") {
  Pki pki;
  Dir d;
  Pki::write_live(d.path / "a", pki.leaf("a.test", "DNS:a.test"));
  Pki::write_live(d.path / "b", pki.leaf("b.test", "DNS:b.test"));
  const std::vector<config::EdgeCertificate> certs{live(d.path / "a"), live(d.path / "b")};
  auto first = load_certificates(certs, nullptr);
  REQUIRE(first.errors.empty());
  Pki::write_live(d.path / "b", pki.leaf("b.test", "DNS:b.test"));
  auto second = load_certificates(certs, first.set.get());
  REQUIRE(second.errors.empty());
  CHECK(second.loaded.size() == 1);  // only b was read again
  CHECK(second.set->entries()[0].ctx == first.set->entries()[0].ctx);
  CHECK(second.set->entries()[1].ctx != first.set->entries()[1].ctx);
}

TEST_CASE("edge certs: a key that does not match is refused and the old pair keeps serving", "[edge]") {
  Pki pki;
  Dir d;
  Pki::write_live(d.path / "a", pki.leaf("a.test", "DNS:a.test"));
  const std::vector<config::EdgeCertificate> certs{live(d.path / "a")};
  auto first = load_certificates(certs, nullptr);
  REQUIRE(first.errors.empty());
  // A renewal that went wrong: a new certificate with some other key.
  Pem renewed = pki.leaf("a.test", "DNS:a.test");
  Pem other = pki.leaf("x.test", "DNS:x.test");
  Pki::write_file(d.path / "a" / "fullchain.pem", renewed.cert);
  Pki::write_file(d.path / "a" / "privkey.pem", other.key);
  auto second = load_certificates(certs, first.set.get());
  REQUIRE(second.errors.size() == 1);
  CHECK(second.errors[0] == (d.path / "a" / "fullchain.pem").string() + ": key " +
                                (d.path / "a" / "privkey.pem").string() + " does not match the certificate");
  REQUIRE(second.set->entries().size() == 1);
  CHECK(second.set->entries()[0].ctx == first.set->entries()[0].ctx);

  // Without a previous pair, the certificate is left out.
  auto fresh = load_certificates(certs, nullptr);
  CHECK(fresh.errors.size() == 1);
  CHECK(fresh.set->entries().empty());

  bool missing = false;
  CHECK_FALSE(check_certificate(certs[0], missing).ok());
  CHECK_FALSE(missing);
}

TEST_CASE("edge certs: unreadable and malformed files name the file", "[edge]") {
  Dir d;
  bool missing = false;
  auto r = check_certificate(live(d.path / "nope"), missing);
  REQUIRE_FALSE(r.ok());
  CHECK(missing);
  CHECK(r.error().message.find((d.path / "nope" / "fullchain.pem").string()) != std::string::npos);
  fs::create_directories(d.path / "bad");
  Pki::write_file(d.path / "bad" / "fullchain.pem", "not a certificate\n");
  Pki::write_file(d.path / "bad" / "privkey.pem", "not a key\n");
  r = check_certificate(live(d.path / "bad"), missing);
  REQUIRE_FALSE(r.ok());
  CHECK_FALSE(missing);
  CHECK(r.error().message.find("no PEM certificate in " + (d.path / "bad" / "fullchain.pem").string()) !=
        std::string::npos);
}
