// ServerContext, ClientContext: PEM bundles, directories of them, SNI, ALPN,
// client verification and tickets, all set up in build().
#include "tls/context.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <system_error>

namespace mqlb::tls {

void SslCtxFree::operator()(SSL_CTX* ctx) const noexcept {
  SSL_CTX_free(ctx);
}
void X509Free::operator()(X509* cert) const noexcept {
  X509_free(cert);
}

namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
};
struct BioFree {
  void operator()(BIO* b) const noexcept { BIO_free(b); }
};
struct StoreFree {
  void operator()(X509_STORE* s) const noexcept { X509_STORE_free(s); }
};
struct NamesFree {
  void operator()(STACK_OF(X509_NAME) * names) const noexcept {
    sk_X509_NAME_pop_free(names, X509_NAME_free);
  }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using BioPtr = std::unique_ptr<BIO, BioFree>;
using StorePtr = std::unique_ptr<X509_STORE, StoreFree>;
using NamesPtr = std::unique_ptr<STACK_OF(X509_NAME), NamesFree>;

// The thread's OpenSSL error queue, drained, as reason strings.
std::string openssl_errors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    const char* reason = ERR_reason_error_string(e);
    if (!out.empty()) out += "; ";
    if (reason != nullptr) {
      out += reason;
    } else {
      char buf[256];
      ERR_error_string_n(e, buf, sizeof buf);
      out += buf;
    }
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

// The whole file, or why it cannot be read.
std::optional<std::string> read_whole(const std::string& path, std::string& out) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return std::string("cannot read: ") + std::strerror(errno);
  char buf[16384];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0)
    out.append(buf, n);
  const bool failed = std::ferror(f);
  const int saved = errno;
  std::fclose(f);
  if (failed) return std::string("cannot read: ") + std::strerror(saved);
  return std::nullopt;
}

std::string lower(std::string s) {
  for (char& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// A certificate with its chain and key, as read from one PEM file.
struct Bundle {
  std::string file;
  std::string field;  // the config path of the crt entry it came from
  X509Ptr leaf;
  std::vector<X509Ptr> chain;
  PkeyPtr key;
};

// HAProxy's PEM bundle: certificates and one private key in any order. The
// first certificate that matches the key is the leaf, the others its chain.
std::optional<Bundle> read_bundle(const std::string& file, const std::string& field,
                                  std::vector<conf::Error>& errors) {
  auto fail = [&](std::string message) {
    errors.push_back({file, 0, field, std::move(message)});
    return std::nullopt;
  };
  std::string text;
  if (auto problem = read_whole(file, text)) return fail(*problem);

  BioPtr bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  std::vector<X509Ptr> certs;
  std::vector<PkeyPtr> keys;
  ERR_clear_error();
  for (;;) {
    char* name = nullptr;
    char* header = nullptr;
    unsigned char* data = nullptr;
    long size = 0;
    if (PEM_read_bio(bio.get(), &name, &header, &data, &size) != 1) {
      const unsigned long e = ERR_peek_last_error();
      if (ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE) {
        ERR_clear_error();  // the end of the file
        break;
      }
      return fail("not a valid PEM file: " + openssl_errors());
    }
    const std::string type = name;
    const bool encrypted = std::strstr(header, "ENCRYPTED") != nullptr;
    const unsigned char* p = data;
    std::optional<std::string> problem;
    if (type == "CERTIFICATE") {
      if (X509* x = d2i_X509(nullptr, &p, size))
        certs.emplace_back(x);
      else
        problem = "cannot decode a certificate: " + openssl_errors();
    } else if (type == "ENCRYPTED PRIVATE KEY" || (ends_with(type, "PRIVATE KEY") && encrypted)) {
      problem = "the private key is encrypted; mqlb needs it unencrypted";
    } else if (ends_with(type, "PRIVATE KEY")) {
      EVP_PKEY* k = type == "EC PRIVATE KEY"    ? d2i_PrivateKey(EVP_PKEY_EC, nullptr, &p, size)
                    : type == "RSA PRIVATE KEY" ? d2i_PrivateKey(EVP_PKEY_RSA, nullptr, &p, size)
                                                : d2i_AutoPrivateKey(nullptr, &p, size);
      if (k != nullptr)
        keys.emplace_back(k);
      else
        problem = "cannot decode the private key: " + openssl_errors();
    }
    // Other blocks (EC PARAMETERS, DH PARAMETERS, X509 CRL) are not ours to use.
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(data);
    if (problem) return fail(*problem);
  }

  if (certs.empty() && keys.empty()) return fail("no PEM certificate or private key in the file");
  if (keys.empty()) return fail("no private key in the file");
  if (certs.empty()) return fail("no certificate in the file");
  if (keys.size() > 1) return fail("more than one private key in the file");

  Bundle bundle{file, field, nullptr, {}, std::move(keys.front())};
  for (auto& cert : certs) {
    if (!bundle.leaf && X509_check_private_key(cert.get(), bundle.key.get()) == 1)
      bundle.leaf = std::move(cert);
    else
      bundle.chain.push_back(std::move(cert));
  }
  ERR_clear_error();  // X509_check_private_key queues its mismatches
  if (!bundle.leaf)
    return fail(certs.size() == 1 ? "private key does not match the certificate"
                                  : "private key does not match any certificate in the file");
  return bundle;
}

bool use_bundle(SSL_CTX* ctx, const Bundle& bundle, std::vector<conf::Error>& errors) {
  bool ok = SSL_CTX_use_certificate(ctx, bundle.leaf.get()) == 1 &&
            SSL_CTX_use_PrivateKey(ctx, bundle.key.get()) == 1;
  // The chain belongs to the certificate just set (one per key type).
  for (const auto& cert : bundle.chain)
    ok = ok && SSL_CTX_add1_chain_cert(ctx, cert.get()) == 1;
  if (!ok) errors.push_back({bundle.file, 0, bundle.field, openssl_errors()});
  return ok;
}

// DNS names a certificate serves: subjectAltName DNS entries, else the CN.
std::vector<std::string> dns_names(X509* cert) {
  std::vector<std::string> names;
  auto* sans =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; i < sk_GENERAL_NAME_num(sans); ++i) {
    const GENERAL_NAME* san = sk_GENERAL_NAME_value(sans, i);
    if (san->type != GEN_DNS) continue;
    const ASN1_STRING* s = san->d.dNSName;
    names.push_back(lower(std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                      static_cast<size_t>(ASN1_STRING_length(s)))));
  }
  GENERAL_NAMES_free(sans);
  if (!names.empty()) return names;
  const X509_NAME* subject = X509_get_subject_name(cert);
  const int at = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (at >= 0) {
    const ASN1_STRING* s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, at));
    names.push_back(lower(std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                      static_cast<size_t>(ASN1_STRING_length(s)))));
  }
  return names;
}

// One `crt` entry as groups of bundles, each group one SSL_CTX: a file; a
// missing file's `.ecdsa` and `.rsa` variants together (ECDSA first); or
// every file of a directory, by name.
std::vector<std::vector<Bundle>> read_crt(const std::string& path, const std::string& field,
                                          std::vector<conf::Error>& errors) {
  namespace fs = std::filesystem;
  std::vector<std::vector<Bundle>> groups;
  auto read_group = [&](const std::vector<std::string>& files) {
    std::vector<Bundle> group;
    for (const auto& file : files)
      if (auto bundle = read_bundle(file, field, errors)) group.push_back(std::move(*bundle));
    if (group.size() == files.size()) groups.push_back(std::move(group));
  };
  // The variants of `base` that exist, when `base` itself does not.
  auto variants = [](const std::string& base) {
    std::vector<std::string> files;
    std::error_code ec;
    for (const char* suffix : {".ecdsa", ".rsa"})
      if (fs::is_regular_file(base + suffix, ec)) files.push_back(base + suffix);
    return files;
  };

  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (fs::is_directory(status)) {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(path, ec)) {
      std::error_code entry_ec;
      if (!entry.is_regular_file(entry_ec)) continue;
      const std::string name = entry.path().filename().string();
      if (ends_with(name, ".key") || ends_with(name, ".ocsp") || ends_with(name, ".issuer") ||
          ends_with(name, ".sctl") || ends_with(name, ".crl"))
        continue;
      names.push_back(name);
    }
    if (ec) {
      errors.push_back({path, 0, field, "cannot list the directory: " + ec.message()});
      return groups;
    }
    std::sort(names.begin(), names.end());
    std::vector<std::string> grouped;  // bases whose variants were read together
    for (const auto& name : names) {
      const std::string file = path + "/" + name;
      std::string base;
      if (ends_with(name, ".ecdsa")) base = file.substr(0, file.size() - 6);
      if (ends_with(name, ".rsa")) base = file.substr(0, file.size() - 4);
      if (base.empty() || fs::exists(base, ec)) {
        read_group({file});
      } else if (std::find(grouped.begin(), grouped.end(), base) == grouped.end()) {
        grouped.push_back(base);
        read_group(variants(base));
      }
    }
    if (names.empty()) errors.push_back({path, 0, field, "no certificate bundle in the directory"});
    return groups;
  }
  if (!fs::exists(status)) {
    if (auto files = variants(path); !files.empty()) {
      read_group(files);
      return groups;
    }
  }
  read_group({path});
  return groups;
}

std::optional<int> parse_version(const std::string& name) {
  if (name == "TLSv1.0") return TLS1_VERSION;
  if (name == "TLSv1.1") return TLS1_1_VERSION;
  if (name == "TLSv1.2") return TLS1_2_VERSION;
  if (name == "TLSv1.3") return TLS1_3_VERSION;
  return std::nullopt;
}

constexpr uint64_t kAlwaysOptions =
    SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF;
// Idle sessions hold no record buffers; a write retried after WANT_WRITE may
// come from a moved buffer (our pending queue).
constexpr long kModes = SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER;

// Everything of a bind that all its SSL_CTXs share, checked once.
struct Settings {
  int min_version = TLS1_2_VERSION;
  int max_version = 0;  // the highest OpenSSL has
  StorePtr store;       // CAs and CRLs for client certificates
  NamesPtr client_cas;  // sent in CertificateRequest
  unsigned char sid[SHA256_DIGEST_LENGTH];
};

constexpr char kDefaultTls12Ciphers[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// Applies the bind's settings to `ctx`. Errors are reported for the first
// context only: the others get the same strings.
void configure(SSL_CTX* ctx, const conf::BindTls& tls, const std::string& where,
               const Settings& settings, const TicketKeys* keys, std::vector<conf::Error>* errors) {
  auto fail = [&](const std::string& field, std::string message) {
    if (errors != nullptr) errors->push_back({"", 0, where + "." + field, std::move(message)});
  };
  SSL_CTX_set_min_proto_version(ctx, settings.min_version);
  SSL_CTX_set_max_proto_version(ctx, settings.max_version);
  // OpenSSL 3's default security level refuses TLS < 1.2 whatever the
  // version range says; an operator asking for TLSv1.0 means it.
  if (settings.min_version < TLS1_2_VERSION) SSL_CTX_set_security_level(ctx, 0);

  uint64_t options = kAlwaysOptions;
  if (!tls.prefer_client_ciphers) options |= SSL_OP_CIPHER_SERVER_PREFERENCE;
  SSL_CTX_set_options(ctx, options);
  SSL_CTX_set_mode(ctx, kModes);

  ERR_clear_error();
  if (!tls.ciphers.empty()) {
    if (SSL_CTX_set_cipher_list(ctx, tls.ciphers.c_str()) != 1)
      fail("ciphers", "no usable cipher in '" + tls.ciphers + "': " + openssl_errors());
  } else if (settings.min_version >= TLS1_2_VERSION) {
    // OpenSSL's default TLS 1.2 list still has CBC suites (testssl rates
    // them LOW, LUCKY13); forward secrecy with AEAD only, as Mozilla's
    // "intermediate" profile. Older versions have no AEAD suite, so a bind
    // that allows them keeps OpenSSL's list.
    SSL_CTX_set_cipher_list(ctx, kDefaultTls12Ciphers);
  }
  if (!tls.ciphersuites.empty()) {
    if (SSL_CTX_set_ciphersuites(ctx, tls.ciphersuites.c_str()) != 1) {
      fail("ciphersuites", "invalid '" + tls.ciphersuites + "': " + openssl_errors());
    } else {
      // OpenSSL skips unknown names silently; an operator's typo should not.
      std::vector<std::string> known;
      STACK_OF(SSL_CIPHER)* ciphers = SSL_CTX_get_ciphers(ctx);
      for (int i = 0; i < sk_SSL_CIPHER_num(ciphers); ++i)
        known.push_back(SSL_CIPHER_standard_name(sk_SSL_CIPHER_value(ciphers, i)));
      size_t start = 0;
      while (start <= tls.ciphersuites.size()) {
        size_t end = tls.ciphersuites.find(':', start);
        if (end == std::string::npos) end = tls.ciphersuites.size();
        const std::string name = tls.ciphersuites.substr(start, end - start);
        if (!name.empty() && std::find(known.begin(), known.end(), name) == known.end())
          fail("ciphersuites",
               "unknown TLS 1.3 ciphersuite '" + name + "' in '" + tls.ciphersuites + "'");
        start = end + 1;
      }
    }
  }
  if (!tls.curves.empty() && SSL_CTX_set1_groups_list(ctx, tls.curves.c_str()) != 1)
    fail("curves", "invalid '" + tls.curves + "': " + openssl_errors());

  int verify = SSL_VERIFY_NONE;
  if (tls.verify == conf::Verify::Optional) verify = SSL_VERIFY_PEER;
  if (tls.verify == conf::Verify::Required)
    verify = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  SSL_CTX_set_verify(ctx, verify, nullptr);
  if (settings.store) SSL_CTX_set1_cert_store(ctx, settings.store.get());
  if (settings.client_cas)
    SSL_CTX_set_client_CA_list(ctx, SSL_dup_CA_list(settings.client_cas.get()));
  // Sessions are bound to this id; resumption with client certificates
  // needs one, and every worker and context of the bind uses the same.
  SSL_CTX_set_session_id_context(ctx, settings.sid, sizeof settings.sid);

  if (keys != nullptr) {
    // Stateless tickets sealed with the process's keys resume on any
    // worker; a per-worker session cache would only cost memory.
    keys->install(ctx);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  } else {
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
  }
}

std::string name_of(int version) {
  switch (version) {
    case TLS1_VERSION:
      return "TLSv1.0";
    case TLS1_1_VERSION:
      return "TLSv1.1";
    case TLS1_2_VERSION:
      return "TLSv1.2";
    default:
      return "TLSv1.3";
  }
}

}  // namespace

ServerContext::~ServerContext() = default;

std::shared_ptr<const ServerContext> ServerContext::build(const conf::BindTls& tls,
                                                          const std::string& where,
                                                          std::shared_ptr<TicketKeys> keys,
                                                          std::vector<conf::Error>& errors) {
  const size_t before = errors.size();
  auto fail = [&](const std::string& field, std::string message) {
    errors.push_back({"", 0, where + "." + field, std::move(message)});
  };
  std::shared_ptr<ServerContext> self(new ServerContext);
  Settings settings;

  if (!tls.min_ver.empty()) {
    if (auto v = parse_version(tls.min_ver))
      settings.min_version = *v;
    else
      fail("ssl-min-ver",
           "unknown version '" + tls.min_ver + "', expected TLSv1.0, TLSv1.1, TLSv1.2 or TLSv1.3");
  }
  if (!tls.max_ver.empty()) {
    if (auto v = parse_version(tls.max_ver))
      settings.max_version = *v;
    else
      fail("ssl-max-ver",
           "unknown version '" + tls.max_ver + "', expected TLSv1.0, TLSv1.1, TLSv1.2 or TLSv1.3");
  }
  if (settings.max_version != 0 && settings.max_version < settings.min_version)
    fail("ssl-max-ver",
         name_of(settings.max_version) + " is below ssl-min-ver " + name_of(settings.min_version));

  std::vector<std::vector<Bundle>> groups;
  if (tls.crt.empty()) fail("crt", "ssl needs a crt (a PEM bundle or a directory of them)");
  for (size_t i = 0; i < tls.crt.size(); ++i)
    for (auto& group : read_crt(tls.crt[i], where + ".crt[" + std::to_string(i) + "]", errors))
      groups.push_back(std::move(group));

  if (tls.verify != conf::Verify::None && tls.ca_file.empty())
    fail("verify", std::string("verify ") +
                       (tls.verify == conf::Verify::Required ? "required" : "optional") +
                       " needs a ca-file");
  if (!tls.ca_file.empty()) {
    std::string text;
    settings.store.reset(X509_STORE_new());
    ERR_clear_error();
    if (auto problem = read_whole(tls.ca_file, text)) {
      errors.push_back({tls.ca_file, 0, where + ".ca-file", *problem});
    } else if (X509_STORE_load_file(settings.store.get(), tls.ca_file.c_str()) != 1) {
      errors.push_back(
          {tls.ca_file, 0, where + ".ca-file", "no CA certificate loaded: " + openssl_errors()});
    } else {
      settings.client_cas.reset(SSL_load_client_CA_file(tls.ca_file.c_str()));
      if (!settings.client_cas)
        errors.push_back(
            {tls.ca_file, 0, where + ".ca-file", "no CA certificate loaded: " + openssl_errors()});
    }
  }
  if (!tls.crl_file.empty()) {
    std::string text;
    if (!settings.store) {
      fail("crl-file", "crl-file needs a ca-file");
    } else if (auto problem = read_whole(tls.crl_file, text)) {
      errors.push_back({tls.crl_file, 0, where + ".crl-file", *problem});
    } else {
      BioPtr bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
      int count = 0;
      while (X509_CRL* crl = PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr)) {
        X509_STORE_add_crl(settings.store.get(), crl);
        X509_CRL_free(crl);
        ++count;
      }
      ERR_clear_error();  // the end of the file
      if (count == 0)
        errors.push_back({tls.crl_file, 0, where + ".crl-file", "no PEM CRL in the file"});
      // The client's own certificate is checked against the CRLs, not its CAs.
      X509_STORE_set_flags(settings.store.get(), X509_V_FLAG_CRL_CHECK);
    }
  }

  if (!tls.no_tls_tickets && !tls.tls_ticket_keys.empty())
    keys = TicketKeys::load(tls.tls_ticket_keys, errors);
  if (!tls.no_tls_tickets && !keys && tls.tls_ticket_keys.empty())
    keys = TicketKeys::random();  // this bind's own: resumption on this context only
  if (tls.no_tls_tickets) keys.reset();
  self->keys_ = keys;

  for (const auto& protocol : tls.alpn) {
    if (protocol.empty() || protocol.size() > 255) {
      fail("alpn", "protocol names are 1 to 255 bytes, got '" + protocol + "'");
      continue;
    }
    self->alpn_.push_back(static_cast<unsigned char>(protocol.size()));
    self->alpn_.insert(self->alpn_.end(), protocol.begin(), protocol.end());
  }

  const unsigned char* id = reinterpret_cast<const unsigned char*>(where.data());
  SHA256(id, where.size(), settings.sid);

  // Settings errors are found on the first context (a scratch one if no
  // bundle could be read), and reported once.
  const size_t count = std::max<size_t>(groups.size(), 1);
  for (size_t i = 0; i < count; ++i) {
    SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
    if (!ctx) {
      fail("crt", "cannot create an SSL context: " + openssl_errors());
      break;
    }
    configure(ctx.get(), tls, where, settings, self->keys_.get(), i == 0 ? &errors : nullptr);
    if (i == 0) {
      SSL_CTX_set_tlsext_servername_callback(ctx.get(), &ServerContext::on_servername);
      SSL_CTX_set_tlsext_servername_arg(ctx.get(), self.get());
    }
    if (!self->alpn_.empty())
      SSL_CTX_set_alpn_select_cb(ctx.get(), &ServerContext::on_alpn, self.get());
    if (i >= groups.size()) break;
    for (const auto& bundle : groups[i]) {
      use_bundle(ctx.get(), bundle, errors);
      for (auto& name : dns_names(bundle.leaf.get())) {
        if (name.starts_with("*."))
          self->wildcard_.emplace(name.substr(2), i);
        else
          self->exact_.emplace(std::move(name), i);
      }
    }
    if (i == 0) self->default_cert_.reset(X509_dup(groups[0][0].leaf.get()));
    self->contexts_.push_back(std::move(ctx));
  }

  if (errors.size() != before) return nullptr;
  return self;
}

SSL* ServerContext::new_ssl() const {
  SSL* ssl = SSL_new(contexts_.front().get());
  if (ssl != nullptr) SSL_set_accept_state(ssl);
  return ssl;
}

const SSL_CTX* ServerContext::pick(std::string name) const {
  name = lower(std::move(name));
  if (!name.empty() && name.back() == '.') name.pop_back();
  if (auto it = exact_.find(name); it != exact_.end()) return contexts_[it->second].get();
  // A wildcard covers exactly one label (RFC 6125 §6.4.3).
  if (auto dot = name.find('.'); dot != std::string::npos && dot > 0)
    if (auto it = wildcard_.find(name.substr(dot + 1)); it != wildcard_.end())
      return contexts_[it->second].get();
  return contexts_.front().get();
}

int ServerContext::on_servername(SSL* ssl, int* alert, void* arg) noexcept {
  const auto* self = static_cast<const ServerContext*>(arg);
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (name == nullptr) return SSL_TLSEXT_ERR_OK;
  auto* ctx = const_cast<SSL_CTX*>(self->pick(name));
  if (ctx != SSL_get_SSL_CTX(ssl)) SSL_set_SSL_CTX(ssl, ctx);
  return SSL_TLSEXT_ERR_OK;
}

// The first of our protocols that the client offers; none in common means
// no ALPN at all rather than a failed handshake.
int ServerContext::on_alpn(SSL* ssl, const unsigned char** out, unsigned char* out_size,
                           const unsigned char* offer, unsigned int offer_size,
                           void* arg) noexcept {
  const auto* self = static_cast<const ServerContext*>(arg);
  const auto& ours = self->alpn_;
  for (size_t i = 0; i < ours.size(); i += 1 + ours[i]) {
    for (unsigned int j = 0; j < offer_size; j += 1 + offer[j]) {
      if (j + 1 + offer[j] > offer_size) break;  // malformed offer
      if (offer[j] == ours[i] && std::memcmp(offer + j + 1, ours.data() + i + 1, ours[i]) == 0) {
        *out = ours.data() + i + 1;
        *out_size = ours[i];
        return SSL_TLSEXT_ERR_OK;
      }
    }
  }
  return SSL_TLSEXT_ERR_NOACK;
}

std::string ServerContext::default_serial() const {
  BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(default_cert_.get()), nullptr);
  char* text = BN_bn2hex(bn);
  std::string out = text != nullptr ? text : "";
  OPENSSL_free(text);
  BN_free(bn);
  return out;
}

std::string ServerContext::default_subject() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), X509_get_subject_name(default_cert_.get()), 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(size));
}

std::shared_ptr<const ClientContext> ClientContext::build(const conf::ServerTls& tls,
                                                          const std::string& where,
                                                          std::vector<conf::Error>& errors) {
  const size_t before = errors.size();
  std::shared_ptr<ClientContext> self(new ClientContext);
  self->ctx_.reset(SSL_CTX_new(TLS_client_method()));
  if (!self->ctx_) {
    errors.push_back({"", 0, where, "cannot create an SSL context: " + openssl_errors()});
    return nullptr;
  }
  SSL_CTX* ctx = self->ctx_.get();
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, kAlwaysOptions);
  SSL_CTX_set_mode(ctx, kModes);

  self->verify_ = tls.verify;
  if (tls.verify && tls.ca_file.empty())
    errors.push_back({"", 0, where + ".verify", "verify required needs ca-file (or verify none)"});
  if (!tls.ca_file.empty()) {
    std::string text;
    ERR_clear_error();
    if (auto problem = read_whole(tls.ca_file, text))
      errors.push_back({tls.ca_file, 0, where + ".ca-file", *problem});
    else if (SSL_CTX_load_verify_file(ctx, tls.ca_file.c_str()) != 1)
      errors.push_back(
          {tls.ca_file, 0, where + ".ca-file", "no CA certificate loaded: " + openssl_errors()});
  }
  SSL_CTX_set_verify(ctx, tls.verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);

  if (!tls.crt.empty())
    if (auto bundle = read_bundle(tls.crt, where + ".crt", errors))
      use_bundle(ctx, *bundle, errors);

  self->sni_ = tls.sni;
  if (!tls.sni.empty()) {
    ASN1_OCTET_STRING* ip = a2i_IPADDRESS(tls.sni.c_str());
    self->sni_is_ip_ = ip != nullptr;
    ASN1_OCTET_STRING_free(ip);
    ERR_clear_error();
  }
  if (errors.size() != before) return nullptr;
  return self;
}

SSL* ClientContext::new_ssl() const {
  SSL* ssl = SSL_new(ctx_.get());
  if (ssl == nullptr) return nullptr;
  SSL_set_connect_state(ssl);
  if (!sni_.empty()) {
    bool ok = sni_is_ip_ || SSL_set_tlsext_host_name(ssl, sni_.c_str()) == 1;
    if (verify_)
      ok = ok && (sni_is_ip_ ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), sni_.c_str())
                             : SSL_set1_host(ssl, sni_.c_str())) == 1;
    if (!ok) {
      SSL_free(ssl);
      return nullptr;
    }
  }
  return ssl;
}

std::string failure_reason(const SSL* ssl, int ssl_error) {
  unsigned long first = 0;
  while (unsigned long e = ERR_get_error())
    if (first == 0) first = e;
  const long verify = SSL_get_verify_result(ssl);
  switch (ssl_error) {
    case SSL_ERROR_SSL:
      if (verify != X509_V_OK &&
          (first == 0 || (ERR_GET_LIB(first) == ERR_LIB_SSL &&
                          ERR_GET_REASON(first) == SSL_R_CERTIFICATE_VERIFY_FAILED)))
        return std::string("certificate verify failed: ") + X509_verify_cert_error_string(verify);
      if (first != 0) {
        if (const char* reason = ERR_reason_error_string(first)) return reason;
        char buf[256];
        ERR_error_string_n(first, buf, sizeof buf);
        return buf;
      }
      return "unknown TLS error";
    case SSL_ERROR_SYSCALL:
      if (errno != 0) return std::strerror(errno);
      return "connection closed during the handshake";
    case SSL_ERROR_ZERO_RETURN:
      return "connection closed during the handshake";
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
      return "handshake not finished";
    default:
      return "TLS error " + std::to_string(ssl_error);
  }
}

}  // namespace mqlb::tls
