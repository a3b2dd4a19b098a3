// libFuzzer target: arbitrary bytes arrive as a client's side of a TLS
// connection on a bind, through tls::Stream and its own BIO, the way a
// session feeds it from the socket.
//
// Input: one control byte, then the bytes the client sends. The control byte
// chooses how the bytes arrive, so that records and handshake messages are
// cut at every place a socket may cut them:
//   bits 0-1  0: all at once; 1: pieces of (bits 2-6) + 1 bytes;
//             2: pieces of 1 to 16 × ((bits 2-6) + 1) bytes; 3: pieces of 1 to 8 bytes
//             (sizes for 2 and 3 from a generator seeded with the byte)
//   bit 7     the first send fails, as when the client reset as the server answered
// Between pieces the transport reports EAGAIN; after the last one, the FIN.
//
// The bind has two certificate bundles (SNI picks one), ALPN, optional client
// certificates and session tickets, so each of those parsers sees the input.

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "conf/config.h"
#include "tls/context.h"
#include "tls/stream.h"

namespace {

using mqlb::tls::Stream;

std::shared_ptr<const mqlb::tls::ServerContext> g_context;

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "tls_handshake_fuzz: %s\n", what.c_str());
  std::abort();
}

struct KeyFree {
  void operator()(EVP_PKEY* key) const noexcept { EVP_PKEY_free(key); }
};
struct CertFree {
  void operator()(X509* cert) const noexcept { X509_free(cert); }
};

// A self-signed ECDSA P-256 certificate for `dns_name`, valid for a day,
// written as a PEM bundle (certificate, then key) to `bundle`, and the
// certificate alone to `cert_only` unless that is empty.
void make_bundle(const std::string& dns_name, long serial, const std::string& bundle,
                 const std::string& cert_only) {
  std::unique_ptr<EVP_PKEY, KeyFree> key(EVP_EC_gen("P-256"));
  std::unique_ptr<X509, CertFree> cert(X509_new());
  if (!key || !cert) die("cannot make a key and a certificate");
  X509_set_version(cert.get(), X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24 * 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(dns_name.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  X509V3_CTX ext_ctx;
  X509V3_set_ctx_nodb(&ext_ctx);
  X509V3_set_ctx(&ext_ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  const std::string san = "DNS:" + dns_name;
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ext_ctx, NID_subject_alt_name, san.c_str());
  if (ext == nullptr || X509_add_ext(cert.get(), ext, -1) != 1) die("cannot add " + san);
  X509_EXTENSION_free(ext);
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) die("cannot sign the certificate");

  auto write = [&](const std::string& path, bool with_key) {
    std::FILE* f = std::fopen(path.c_str(), "w");
    if (f == nullptr) die("cannot write " + path + ": " + std::strerror(errno));
    bool ok = PEM_write_X509(f, cert.get()) == 1;
    if (with_key)
      ok = ok && PEM_write_PrivateKey(f, key.get(), nullptr, nullptr, 0, nullptr, nullptr) == 1;
    if (std::fclose(f) != 0 || !ok) die("cannot write " + path);
  };
  write(bundle, true);
  if (!cert_only.empty()) write(cert_only, false);
}

// What arrives from the "client": the input, a piece at a time.
class FuzzTransport final : public mqlb::tls::Transport {
 public:
  FuzzTransport(const uint8_t* data, size_t size, uint8_t control)
      : data_(data), size_(size), control_(control), rng_(control | 0x100u) {}

  ssize_t tls_recv(char* buf, size_t n) override {
    if (pos_ < limit_) {
      const size_t take = std::min(n, limit_ - pos_);
      std::memcpy(buf, data_ + pos_, take);
      pos_ += take;
      return static_cast<ssize_t>(take);
    }
    if (fin_) return 0;
    errno = EAGAIN;
    return -1;
  }

  bool tls_send(const char*, size_t n) override {
    if ((control_ & 0x80) != 0 && sends_ == 0) {
      ++sends_;
      return false;
    }
    ++sends_;
    sent_ += n;
    return true;
  }

  // The socket is readable again: the next piece has arrived.
  void arrive() { limit_ = std::min(size_, limit_ + next_piece()); }
  bool more() const { return limit_ < size_; }
  // The client's FIN, after everything it sent.
  void fin() { fin_ = true; }
  bool finished() const { return fin_; }

 private:
  size_t next_piece() {
    const size_t param = ((control_ >> 2) & 0x1f) + 1;
    switch (control_ & 3) {
      case 0:
        return size_;
      case 1:
        return param;
      case 2:
        return 1 + next_random() % (16 * param);
      default:
        return 1 + next_random() % 8;
    }
  }
  // xorshift32: the same pieces for the same input, every run.
  uint32_t next_random() {
    rng_ ^= rng_ << 13;
    rng_ ^= rng_ >> 17;
    rng_ ^= rng_ << 5;
    return rng_;
  }

  const uint8_t* data_;
  size_t size_;
  uint8_t control_;
  uint32_t rng_;
  size_t pos_ = 0;    // bytes read so far
  size_t limit_ = 0;  // bytes arrived so far
  bool fin_ = false;
  size_t sends_ = 0;
  size_t sent_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  char pattern[] = "/tmp/mqlb-fuzz.XXXXXX";
  if (mkdtemp(pattern) == nullptr) die(std::string("mkdtemp: ") + std::strerror(errno));
  const std::string dir = pattern;
  make_bundle("mqtt.example.com", 1, dir + "/default.pem", dir + "/ca.pem");
  make_bundle("*.devices.example.com", 2, dir + "/devices.pem", "");

  mqlb::conf::BindTls tls;
  tls.enabled = true;
  tls.crt = {dir + "/default.pem", dir + "/devices.pem"};
  tls.ca_file = dir + "/ca.pem";
  tls.verify = mqlb::conf::Verify::Optional;
  tls.alpn = {"mqtt", "x-amzn-mqtt-ca"};
  std::vector<mqlb::conf::Error> errors;
  g_context =
      mqlb::tls::ServerContext::build(tls, "fuzz.bind[0]", mqlb::tls::TicketKeys::random(), errors);
  // build() has read every file: nothing is left behind.
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  if (!g_context) {
    std::string text;
    for (const auto& e : errors)
      text += "\n  " + e.to_string();
    die("cannot build the server context:" + text);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  FuzzTransport transport(data + 1, size - 1, data[0]);
  SSL* ssl = g_context->new_ssl();
  if (ssl == nullptr) return 0;
  Stream stream(ssl, transport);  // owns ssl from here on

  // Each WantIo lets one more piece arrive, then the FIN: the loops end.
  auto wait_for_socket = [&] {
    if (transport.more()) {
      transport.arrive();
      return true;
    }
    if (transport.finished()) return false;
    transport.fin();
    return true;
  };

  transport.arrive();
  Stream::Status status;
  while ((status = stream.handshake()) == Stream::Status::WantIo)
    if (!wait_for_socket()) return 0;
  if (status != Stream::Status::Done) {
    (void)stream.reason();
    (void)stream.closed_early();
    return 0;
  }

  (void)stream.describe();
  char plain[16384];
  for (;;) {
    size_t got = 0;
    status = stream.read(plain, sizeof plain, got);
    if (status == Stream::Status::Done) continue;
    if (status == Stream::Status::WantIo && wait_for_socket()) continue;
    break;
  }
  if (status != Stream::Status::Failed) {
    static const char kReply[] = "\x20\x02\x00\x00";  // an MQTT CONNACK
    (void)stream.write(kReply, sizeof kReply - 1);
  }
  stream.close_notify();
  return 0;
}
