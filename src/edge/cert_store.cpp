#include "edge/cert_store.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace pharos::edge {

namespace {

// Mozilla's "intermediate" TLS 1.2 suites (forward secret, AEAD); TLS 1.3 uses OpenSSL's defaults.
constexpr const char* kCiphers12 =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

int cert_set_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

std::string openssl_error(std::string_view what) {
  std::string out(what);
  unsigned long e = ERR_get_error();
  if (e) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    out += ": ";
    out += buf;
  }
  ERR_clear_error();
  return out;
}

bool read_file(const std::string& path, std::string& out, std::string& why, bool& missing) {
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    missing = errno == ENOENT;
    why = "cannot read " + path + ": " + std::strerror(errno ? errno : EIO);
    return false;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  return true;
}

// SNI: switch the connection to the context of the name asked for.
int on_server_name(SSL* ssl, int* /*alert*/, void* /*arg*/) {
  const auto* set = static_cast<const CertSet*>(SSL_get_ex_data(ssl, cert_set_index()));
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (!set || !name) return SSL_TLSEXT_ERR_OK;
  char lower[256];
  size_t n = 0;
  for (; name[n] && n < sizeof lower - 1; ++n) {
    char c = name[n];
    lower[n] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  if (n > 0 && lower[n - 1] == '.') --n;
  SSL_CTX* ctx = set->select(std::string_view(lower, n));
  if (ctx && ctx != SSL_get_SSL_CTX(ssl)) SSL_set_SSL_CTX(ssl, ctx);
  return SSL_TLSEXT_ERR_OK;
}

// ALPN: http/1.1 when offered; a client offering only h2 goes on without ALPN.
int on_alpn(SSL* /*ssl*/, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned int inlen,
            void* /*arg*/) {
  static const unsigned char kHttp11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, outlen, kHttp11, sizeof kHttp11, in, inlen) == OPENSSL_NPN_NEGOTIATED) {
    *out = selected;
    return SSL_TLSEXT_ERR_OK;
  }
  return SSL_TLSEXT_ERR_NOACK;
}

struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Deleter {
  void operator()(X509* x) const { X509_free(x); }
};
struct KeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};

std::vector<std::string> names_of(X509* cert) {
  std::vector<std::string> out;
  auto* sans = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (sans) {
    for (int i = 0; i < sk_GENERAL_NAME_num(sans); ++i) {
      const GENERAL_NAME* g = sk_GENERAL_NAME_value(sans, i);
      if (g->type != GEN_DNS) continue;
      const unsigned char* data = ASN1_STRING_get0_data(g->d.dNSName);
      std::string name(reinterpret_cast<const char*>(data), static_cast<size_t>(ASN1_STRING_length(g->d.dNSName)));
      for (char& c : name) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
      out.push_back(std::move(name));
    }
    GENERAL_NAMES_free(sans);
  }
  if (out.empty()) {
    char cn[256];
    if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn) > 0) {
      std::string name(cn);
      for (char& c : name) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
      out.push_back(std::move(name));
    }
  }
  return out;
}

std::string time_text(const ASN1_TIME* t) {
  std::unique_ptr<BIO, BioDeleter> bio(BIO_new(BIO_s_mem()));
  ASN1_TIME_print(bio.get(), t);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

// A server context for one certificate chain and key, from PEM text. Fails with the reason.
bool build_context(const config::EdgeCertificate& c, const std::string& cert_pem, const std::string& key_pem,
                   CertSet::Entry& out, std::string& why) {
  ERR_clear_error();
  std::unique_ptr<BIO, BioDeleter> cbio(BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size())));
  std::unique_ptr<X509, X509Deleter> leaf(PEM_read_bio_X509_AUX(cbio.get(), nullptr, nullptr, nullptr));
  if (!leaf) {
    why = openssl_error("no PEM certificate in " + c.cert_file);
    return false;
  }
  std::vector<std::unique_ptr<X509, X509Deleter>> chain;
  for (;;) {
    X509* x = PEM_read_bio_X509(cbio.get(), nullptr, nullptr, nullptr);
    if (!x) break;
    chain.emplace_back(x);
  }
  ERR_clear_error();  // the end of the file reads as an error
  std::unique_ptr<BIO, BioDeleter> kbio(BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())));
  std::unique_ptr<EVP_PKEY, KeyDeleter> key(PEM_read_bio_PrivateKey(kbio.get(), nullptr, nullptr, nullptr));
  if (!key) {
    why = openssl_error("no PEM private key in " + c.key_file);
    return false;
  }
  if (X509_check_private_key(leaf.get(), key.get()) != 1) {
    ERR_clear_error();
    why = "key " + c.key_file + " does not match the certificate";
    return false;
  }
  SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()), SslCtxDeleter{});
  if (!ctx) {
    why = openssl_error("cannot create a TLS context");
    return false;
  }
  SSL_CTX* x = ctx.get();
  SSL_CTX_set_min_proto_version(x, TLS1_2_VERSION);
  SSL_CTX_set_options(x, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_IGNORE_UNEXPECTED_EOF |
                             SSL_OP_NO_COMPRESSION);
  // Idle connections give their buffers back; writes may be partial and move (coroutine buffers).
  // The chain sent is the one in the certificate file, as loaded below: no chain built from the
  // context's (empty) store in every handshake, which OpenSSL does by default for a certificate
  // without one (X509_verify_cert per handshake, about 5,000 instructions, for the same leaf-only
  // chain); nginx sets the same mode.
  SSL_CTX_set_mode(x, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                          SSL_MODE_NO_AUTO_CHAIN);
  SSL_CTX_set_read_ahead(x, 1);
  static const unsigned char kSessionContext[] = "pharos-edge";
  SSL_CTX_set_session_id_context(x, kSessionContext, sizeof kSessionContext - 1);
  if (SSL_CTX_set_cipher_list(x, kCiphers12) != 1) {
    why = openssl_error("cannot set the cipher list");
    return false;
  }
  if (SSL_CTX_use_certificate(x, leaf.get()) != 1) {
    why = openssl_error("cannot use the certificate in " + c.cert_file);
    return false;
  }
  for (auto& ca : chain) {
    if (SSL_CTX_add1_chain_cert(x, ca.get()) != 1) {
      why = openssl_error("cannot use the chain in " + c.cert_file);
      return false;
    }
  }
  if (SSL_CTX_use_PrivateKey(x, key.get()) != 1 || SSL_CTX_check_private_key(x) != 1) {
    ERR_clear_error();
    why = "key " + c.key_file + " does not match the certificate";
    return false;
  }
  SSL_CTX_set_tlsext_servername_callback(x, on_server_name);
  SSL_CTX_set_alpn_select_cb(x, on_alpn, nullptr);

  out.ctx = std::move(ctx);
  out.cert_file = c.cert_file;
  out.key_file = c.key_file;
  out.cert_pem = cert_pem;
  out.key_pem = key_pem;
  out.configured_hosts = c.hosts;
  out.names = c.hosts.empty() ? names_of(leaf.get()) : c.hosts;
  const int type = EVP_PKEY_base_id(key.get());
  std::string names;
  for (const auto& n : out.names) names += (names.empty() ? "" : ",") + n;
  const ASN1_TIME* not_after = X509_get0_notAfter(leaf.get());
  out.summary = "names=" + names + " key=" + (type == EVP_PKEY_EC ? "ECDSA" : type == EVP_PKEY_RSA ? "RSA" : "other") +
                "-" + std::to_string(EVP_PKEY_bits(key.get())) + " chain=" + std::to_string(chain.size()) +
                " not_after=\"" + time_text(not_after) + "\"";
  if (X509_cmp_current_time(not_after) < 0) out.summary += " EXPIRED";
  return true;
}

}  // namespace

struct CertLoader {
  static void index(CertSet& set) {
    for (size_t i = 0; i < set.entries_.size(); ++i) {
      for (const std::string& n : set.entries_[i].names) {
        if (n.starts_with("*.")) {
          set.wildcard_.emplace(n.substr(2), i);  // the first certificate to claim a name keeps it
        } else {
          set.exact_.emplace(n, i);
        }
      }
    }
  }
};

SSL_CTX* CertSet::select(std::string_view name) const {
  if (entries_.empty()) return nullptr;
  if (!name.empty()) {
    auto it = exact_.find(std::string(name));
    if (it != exact_.end()) return entries_[it->second].ctx.get();
    size_t dot = name.find('.');
    if (dot != std::string_view::npos) {
      auto w = wildcard_.find(std::string(name.substr(dot + 1)));
      if (w != wildcard_.end()) return entries_[w->second].ctx.get();
    }
  }
  return entries_.front().ctx.get();
}

void CertSet::detach(SSL* ssl) { SSL_set_ex_data(ssl, cert_set_index(), nullptr); }

void CertSet::attach(SSL* ssl) const { SSL_set_ex_data(ssl, cert_set_index(), const_cast<CertSet*>(this)); }

CertLoad load_certificates(const std::vector<config::EdgeCertificate>& certs, const CertSet* previous) {
  CertLoad out;
  auto set = std::make_shared<CertSet>();
  for (const config::EdgeCertificate& c : certs) {
    const CertSet::Entry* old = nullptr;
    if (previous) {
      for (const auto& e : previous->entries()) {
        if (e.cert_file == c.cert_file && e.key_file == c.key_file) old = &e;
      }
    }
    std::string cert_pem, key_pem, why;
    bool missing = false;
    CertSet::Entry entry;
    bool ok = read_file(c.cert_file, cert_pem, why, missing) && read_file(c.key_file, key_pem, why, missing);
    if (ok && old && old->cert_pem == cert_pem && old->key_pem == key_pem && old->configured_hosts == c.hosts) {
      set->entries_.push_back(*old);  // unchanged: the same context
      continue;
    }
    if (ok) ok = build_context(c, cert_pem, key_pem, entry, why);
    if (ok) {
      out.loaded.push_back(c.cert_file + " " + entry.summary);
      set->entries_.push_back(std::move(entry));
      continue;
    }
    out.errors.push_back(c.cert_file + ": " + why);
    if (old) set->entries_.push_back(*old);
  }
  CertLoader::index(*set);
  out.set = std::move(set);
  return out;
}

Result<std::string> check_certificate(const config::EdgeCertificate& c, bool& missing) {
  missing = false;
  std::string cert_pem, key_pem, why;
  if (!read_file(c.cert_file, cert_pem, why, missing) || !read_file(c.key_file, key_pem, why, missing)) {
    return Error{c.cert_file + ": " + why};
  }
  CertSet::Entry entry;
  if (!build_context(c, cert_pem, key_pem, entry, why)) return Error{c.cert_file + ": " + why};
  return entry.summary;
}

}  // namespace pharos::edge
