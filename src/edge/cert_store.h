// Certificates: PEM files read into one OpenSSL context each (TLS 1.2 and 1.3, ALPN http/1.1),
// and the immutable CertSet that chooses a context by SNI during a handshake. A reload builds a
// new set beside the running one: a certificate whose files did not change keeps its context, one
// that fails to load (unreadable, malformed, a key that does not match) keeps its previous
// context and the failure is reported. Open connections hold their own reference to the context
// they were handshaken with, so nothing they use is freed under them.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <openssl/ssl.h>

#include "common/result.h"
#include "config/config.h"

namespace pharos::edge {

struct SslCtxDeleter {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
using SslCtxPtr = std::shared_ptr<SSL_CTX>;

struct CertLoad;
class CertSet;
CertLoad load_certificates(const std::vector<config::EdgeCertificate>& certs, const CertSet* previous);

class CertSet {
 public:
  struct Entry {
    SslCtxPtr ctx;
    std::string cert_file, key_file;
    std::string cert_pem, key_pem;   // the bytes the context was built from, to see changes
    std::vector<std::string> configured_hosts;  // as the config gave them
    std::vector<std::string> names;  // SNI names it answers for (configured, or from the certificate)
    std::string summary;             // "names=a,b key=ECDSA not_after=..." for the log
  };

  // The context for a server name (lowercase): an exact name, then "*.parent" for one label,
  // else the default (the first certificate). Null only for an empty set.
  SSL_CTX* select(std::string_view server_name) const;
  SSL_CTX* default_ctx() const { return entries_.empty() ? nullptr : entries_.front().ctx.get(); }
  const std::vector<Entry>& entries() const { return entries_; }

  // Attaches this set to a connection before its handshake: the SNI callback reads it from there.
  void attach(SSL* ssl) const;
  static void detach(SSL* ssl);  // after the handshake: the set may go

 private:
  friend struct CertLoader;
  friend CertLoad load_certificates(const std::vector<config::EdgeCertificate>& certs, const CertSet* previous);
  std::vector<Entry> entries_;
  std::unordered_map<std::string, size_t> exact_;
  std::unordered_map<std::string, size_t> wildcard_;  // "example.com" for "*.example.com"
};

struct CertLoad {
  std::shared_ptr<const CertSet> set;
  std::vector<std::string> errors;   // "<cert file>: <reason>", one per certificate that failed
  std::vector<std::string> loaded;   // "<cert file> <summary>", one per certificate (re)read
};

// Loads the configured certificates. With `previous`, unchanged files keep their context and a
// certificate that fails keeps its previous one (when it had one). A certificate that fails and
// has no previous version is left out; the caller decides whether that is fatal.
CertLoad load_certificates(const std::vector<config::EdgeCertificate>& certs, const CertSet* previous);

// For `pharos checkconf`: whether the certificate and key load and match. Missing files are
// reported apart (`missing`), so a config can be checked on a machine without its keys.
Result<std::string> check_certificate(const config::EdgeCertificate& cert, bool& missing);

}  // namespace pharos::edge
