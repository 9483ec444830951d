// TLS from the edge to members (a pool with `tls`): one client context per pool, made again on
// every reload so that a renewed CA file or client certificate is read; a session per upstream
// connection that sends the pool's name as SNI and verifies the member's certificate for that
// name (or for the member's IP address when the pool names none).
#pragma once

#include <openssl/ssl.h>

#include <string>

#include "common/result.h"
#include "config/config.h"
#include "edge/cert_store.h"

namespace pharos::edge {

// TLS 1.2 and 1.3, ALPN http/1.1; peer verification on unless `verify: false`. Errors name the
// file and the reason.
Result<SslCtxPtr> make_upstream_context(const config::EdgeUpstreamTls& tls);

// A session for one connection to the member at `member_ip`, or null when OpenSSL refuses.
SSL* new_upstream_session(SSL_CTX* ctx, const config::EdgeUpstreamTls& tls, const std::string& member_ip);

// Why a handshake failed, for the log: the verification error when there was one
// ("certificate verify failed: unable to get local issuer certificate"), else OpenSSL's reason.
std::string tls_failure(SSL* ssl, unsigned long openssl_error);

}  // namespace pharos::edge
