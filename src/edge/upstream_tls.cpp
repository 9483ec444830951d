#include "edge/upstream_tls.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>

namespace pharos::edge {

namespace {

std::string openssl_reason() {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown error";
  const char* r = ERR_reason_error_string(e);
  return r ? r : "error " + std::to_string(e);
}

}  // namespace

Result<SslCtxPtr> make_upstream_context(const config::EdgeUpstreamTls& tls) {
  ERR_clear_error();
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()), SslCtxDeleter{});
  if (!ctx) return Error{"upstream tls: cannot make a context: " + openssl_reason()};
  SSL_CTX* c = ctx.get();
  SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
  SSL_CTX_set_mode(c, SSL_MODE_RELEASE_BUFFERS);
  static const unsigned char kAlpn[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  SSL_CTX_set_alpn_protos(c, kAlpn, sizeof kAlpn);
  if (tls.verify) {
    SSL_CTX_set_verify(c, SSL_VERIFY_PEER, nullptr);
    if (!tls.ca_file.empty()) {
      if (SSL_CTX_load_verify_locations(c, tls.ca_file.c_str(), nullptr) != 1) {
        return Error{"upstream tls ca_file " + tls.ca_file + ": " + openssl_reason()};
      }
    } else if (SSL_CTX_set_default_verify_paths(c) != 1) {
      return Error{"upstream tls: cannot read the system's trust store: " + openssl_reason()};
    }
  } else {
    SSL_CTX_set_verify(c, SSL_VERIFY_NONE, nullptr);
  }
  if (!tls.cert_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(c, tls.cert_file.c_str()) != 1) {
      return Error{"upstream tls cert " + tls.cert_file + ": " + openssl_reason()};
    }
    if (SSL_CTX_use_PrivateKey_file(c, tls.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
      return Error{"upstream tls key " + tls.key_file + ": " + openssl_reason()};
    }
    if (SSL_CTX_check_private_key(c) != 1) {
      ERR_clear_error();
      return Error{"upstream tls key " + tls.key_file + " does not match the certificate " + tls.cert_file};
    }
  }
  return ctx;
}

SSL* new_upstream_session(SSL_CTX* ctx, const config::EdgeUpstreamTls& tls, const std::string& member_ip) {
  SSL* ssl = SSL_new(ctx);
  if (!ssl) {
    ERR_clear_error();
    return nullptr;
  }
  bool ok = true;
  if (!tls.name.empty()) {
    ok = SSL_set_tlsext_host_name(ssl, tls.name.c_str()) == 1;
    if (tls.verify) {
      ok = ok && SSL_set1_host(ssl, tls.name.c_str()) == 1;
      SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    }
  } else if (tls.verify) {
    ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), member_ip.c_str()) == 1;
  }
  if (!ok) {
    ERR_clear_error();
    SSL_free(ssl);
    return nullptr;
  }
  return ssl;
}

std::string tls_failure(SSL* ssl, unsigned long openssl_error) {
  const long verify = SSL_get_verify_result(ssl);
  if (verify != X509_V_OK) return std::string("certificate verify failed: ") + X509_verify_cert_error_string(verify);
  if (openssl_error != 0) {
    const char* r = ERR_reason_error_string(openssl_error);
    if (r) return r;
  }
  return "handshake failed";
}

}  // namespace pharos::edge
