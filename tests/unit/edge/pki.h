// Certificates for the edge tests, made with the OpenSSL API at test time: a CA, and leaves with
// ECDSA P-256 or RSA-2048 keys for given names, written as PEM files in certbot's layout
// (<dir>/fullchain.pem: leaf then CA; <dir>/privkey.pem). Header-only, no Catch2, so both the
// unit and the integration tests can use it.
#pragma once

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>

namespace pharos::edge::test {

enum class KeyType { Ecdsa, Rsa };

struct Pem {
  std::string cert;  // the leaf (and for fullchain, the CA after it)
  std::string key;
  std::string serial;  // decimal, to tell certificates apart in tests
};

struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};

struct Issued {
  std::unique_ptr<EVP_PKEY, PkeyFree> key;
  std::unique_ptr<X509, X509Free> cert;
};

inline void require(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("pki: ") + what);
}

inline void add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  require(ext != nullptr, "extension");
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

// `names`: a subjectAltName value such as "DNS:a.test,DNS:*.b.test"; empty for a CA.
inline Issued issue(const std::string& cn, const Issued* ca, const std::string& names, KeyType type) {
  Issued out;
  out.key.reset(type == KeyType::Rsa ? EVP_RSA_gen(2048) : EVP_EC_gen("P-256"));
  require(out.key != nullptr, "key");
  out.cert.reset(X509_new());
  X509* x = out.cert.get();
  X509_set_version(x, 2);
  static std::atomic<long> serial{1000};
  ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 86400);
  X509_set_pubkey(x, out.key.get());
  X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509* issuer = ca ? ca->cert.get() : x;
  X509_set_issuer_name(x, X509_get_subject_name(issuer));
  if (!ca) {
    add_ext(x, issuer, NID_basic_constraints, "critical,CA:TRUE");
    add_ext(x, issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add_ext(x, issuer, NID_basic_constraints, "critical,CA:FALSE");
    add_ext(x, issuer, NID_ext_key_usage, "serverAuth");
  }
  add_ext(x, issuer, NID_subject_key_identifier, "hash");
  if (!names.empty()) add_ext(x, issuer, NID_subject_alt_name, names);
  require(X509_sign(x, ca ? ca->key.get() : out.key.get(), EVP_sha256()) > 0, "sign");
  return out;
}

inline std::string pem_of(X509* x) {
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(b, x);
  char* d = nullptr;
  long n = BIO_get_mem_data(b, &d);
  std::string s(d, static_cast<size_t>(n));
  BIO_free(b);
  return s;
}

inline std::string pem_of(EVP_PKEY* k) {
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(b, k, nullptr, nullptr, 0, nullptr, nullptr);
  char* d = nullptr;
  long n = BIO_get_mem_data(b, &d);
  std::string s(d, static_cast<size_t>(n));
  BIO_free(b);
  return s;
}

class Pki {
 public:
  Pki() : ca_(issue("pharos edge test ca", nullptr, "", KeyType::Ecdsa)) {}
  std::string ca_pem() const { return pem_of(ca_.cert.get()); }

  // A leaf for `names` ("DNS:a.test,..."), as PEM: the full chain and the key.
  Pem leaf(const std::string& cn, const std::string& names, KeyType type = KeyType::Ecdsa) const {
    Issued l = issue(cn, &ca_, names, type);
    Pem p;
    p.cert = pem_of(l.cert.get()) + pem_of(ca_.cert.get());
    p.key = pem_of(l.key.get());
    p.serial = std::to_string(ASN1_INTEGER_get(X509_get_serialNumber(l.cert.get())));
    return p;
  }

  // Writes `p` as <dir>/fullchain.pem and <dir>/privkey.pem, each replaced in one rename.
  static void write_live(const std::filesystem::path& dir, const Pem& p) {
    std::filesystem::create_directories(dir);
    write_file(dir / "fullchain.pem", p.cert);
    write_file(dir / "privkey.pem", p.key);
  }
  static void write_file(const std::filesystem::path& path, const std::string& text) {
    auto tmp = path;
    tmp += ".tmp~";
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      out << text;
    }
    std::filesystem::rename(tmp, path);
  }

 private:
  Issued ca_;
};

}  // namespace pharos::edge::test
