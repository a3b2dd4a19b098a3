// TLS for integration tests: a throw-away PKI made with the openssl command
// line tool, `openssl s_client` runs parsed into what the handshake gave, and
// the lines mqlb logs about TLS handshakes. Main thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/mqlb.h"
#include "support/net.h"
#include "support/temp_dir.h"
#include "support/wait.h"

namespace mqlb::test {

// What mqlb is expected to write, where the interface leaves the wording
// open. Kept in one place so that they are easy to align with the
// implementation; everything else the tests match is fixed by the interface.
namespace tls_expect {
// Access-log lines (frontend "mqtt", bind "1"): "... mqtt/1: <one of these>".
inline constexpr char kHandshakeFailure[] = "SSL handshake failure";
inline constexpr char kClosedDuringHandshake[] = "Connection closed during SSL handshake";
inline constexpr char kHandshakeTimeout[] = "Timeout during SSL handshake";
// OpenSSL's own reason strings, expected after "SSL handshake failure: ".
inline constexpr char kReasonUnsupportedProtocol[] = "unsupported protocol";
inline constexpr char kReasonNoSharedCipher[] = "no shared cipher";
inline constexpr char kReasonCertificate[] = "certificate";  // any verify failure
// `mqlb -c` on a key that belongs to another certificate.
inline constexpr char kKeyMismatch[] = "does not match";
// A bundle that cannot be read on SIGHUP: a line on stderr naming the file,
// tagged with one of these.
inline constexpr const char* kReloadErrorTags[] = {"[ALERT]", "[WARNING]", "[ERR"};
}  // namespace tls_expect

// One certificate with its key, as files.
struct TlsBundle {
  std::filesystem::path pem;   // certificate, private key, CA certificate: HAProxy's form
  std::filesystem::path cert;  // the certificate alone
  std::filesystem::path key;   // the private key alone
  std::string serial;          // hex, as `openssl x509 -noout -serial` prints it: "1001"
  std::string subject;         // as `openssl x509 -noout -subject` prints it: "CN = mqlb.test"
};

// Made by make_tls_files: ECDSA P-256 unless said otherwise, all signed by
// `ca` unless said otherwise.
struct TlsFiles {
  std::filesystem::path ca;        // the CA certificate (PEM)
  std::filesystem::path other_ca;  // an unrelated CA certificate
  std::filesystem::path crl;       // from `ca`, listing revoked_client
  // CN mqlb.test; SAN DNS:mqlb.test, DNS:localhost, IP:127.0.0.1.
  TlsBundle server;
  TlsBundle server_rsa;   // the same names, RSA 2048
  TlsBundle replacement;  // the same names as `server`, another serial: for reloads
  // A directory holding exactly two bundles, a.mqlb.test.pem (the first by
  // name, so the default) and b.mqlb.test.pem, each for its own CN/SAN.
  std::filesystem::path sni_dir;
  TlsBundle sni_a;
  TlsBundle sni_b;
  TlsBundle client;           // CN device-1
  TlsBundle revoked_client;   // CN device-revoked, in `crl`
  TlsBundle other_ca_client;  // CN device-1, signed by other_ca
};

// Creates the files in `dir`/tls (once per TempDir) with the openssl CLI;
// throws naming the command that failed.
TlsFiles make_tls_files(TempDir& dir);

// Replaces `target` by a copy of `source` in one rename(2), so that a reader
// sees the old file or the new one, never half of one.
void install_file(const std::filesystem::path& source, const std::filesystem::path& target);

// A TLS bind entry for a frontend's "bind" list:
// {"address": "127.0.0.1:PORT", "ssl": true, "crt": crt}; tests add options.
nlohmann::json tls_bind(uint16_t port, const std::filesystem::path& crt);

// basic_config (see mqlb.h) with its one bind replaced by tls_bind(port,
// crt): frontend "mqtt", whose TLS bind is bind "1".
nlohmann::json basic_tls_config(uint16_t port, const std::filesystem::path& crt,
                                const std::vector<BackendServer>& servers);

enum class TlsVersion { Any, V1_0, V1_1, V1_2, V1_3 };

struct SClientOptions {
  std::string servername{};  // -servername; empty: no SNI (s_client sends none for an IP)
  // -tls1 ... -tls1_3. For 1.0 and 1.1 the client also lowers its own
  // security level (@SECLEVEL=0), or OpenSSL 3 would refuse them itself and
  // a test of the server's refusal could not fail.
  TlsVersion version = TlsVersion::Any;
  std::string cipher{};                 // -cipher (TLS <= 1.2)
  std::string ciphersuites{};           // -ciphersuites (TLS 1.3)
  std::string alpn{};                   // -alpn "mqtt,other"
  std::filesystem::path cert{}, key{};  // -cert -key: a client certificate
  std::filesystem::path ca_file{};      // -CAfile: verify the server (the result says how it went)
  std::filesystem::path sess_out{};     // -sess_out
  std::filesystem::path sess_in{};      // -sess_in
  std::string send{};                   // written to s_client's stdin (to the server) at once
  // How long stdin stays open before EOF ends s_client: long enough for a
  // TLS 1.3 session ticket, or a server's alert, which come after the
  // client's side of the handshake is done.
  Millis linger{500};
  Millis timeout{15000};  // then s_client is killed and s_client() throws
};

// What one `openssl s_client` run saw.
struct SClient {
  int exit_code = -1;
  // The client's side of the handshake completed (-state shows no "error
  // in") with a cipher (not "(NONE)" / "0000").
  bool handshake = false;
  bool reused = false;             // "Reused, TLSv1.3, ..." rather than "New, ..."
  std::string protocol;            // "TLSv1.3"
  std::string cipher;              // "TLS_AES_256_GCM_SHA384"
  std::string alpn;                // "mqtt"; empty when none was negotiated
  std::string peer_subject;        // of the server's certificate: "CN = mqlb.test"
  std::string peer_serial;         // "1001"
  std::optional<int> verify_code;  // "Verify return code: 0 (ok)"
  std::string verify_text;         // "ok"
  std::optional<int> alert;        // the first TLS alert received ("SSL alert number 116")
  std::string alert_text;          // its reason: "tlsv13 alert certificate required"
  std::string output;              // stdout, then stderr

  // Handshake done and no alert came after it: with TLS 1.3 a server that
  // refuses a client certificate says so only after the client's Finished.
  bool admitted() const { return handshake && !alert; }
};

// `openssl s_client -connect 127.0.0.1:PORT` with `options`.
SClient s_client(TempDir& dir, uint16_t port, const SClientOptions& options = {});

// Pulls the SClient fields out of s_client's output; the peer certificate
// serial and subject are left to s_client(), which asks `openssl x509`.
SClient parse_s_client_output(const std::string& output);

// The first PEM certificate in `text` ("-----BEGIN CERTIFICATE-----" to
// "-----END CERTIFICATE-----"), or "".
std::string first_pem_certificate(const std::string& text);

// A line mqlb writes about a bind rather than a session, HAProxy 2.6's form:
// "127.0.0.1:37792 [01/Dec/2026:12:07:29.223] mqtt/1: SSL handshake failure: ..."
struct BindLogLine {
  std::string client;  // "127.0.0.1:37792"
  uint16_t client_port = 0;
  std::string frontend;  // "mqtt"
  std::string bind;      // the bind's name, or its 1-based position: "1"
  std::string message;   // everything after "mqtt/1: "
  std::string raw;
};
std::optional<BindLogLine> parse_bind_log_line(std::string_view line);
// Every such line in `text`, in order.
std::vector<BindLogLine> bind_log_lines(const std::string& text);
// Those whose message starts with `prefix`.
std::vector<BindLogLine> bind_log_lines(const std::string& text, std::string_view prefix);

// Waits until mqlb's stdout (its access log in basic_config) has at least
// `count` bind lines whose message starts with `prefix`; throws after
// `timeout` showing what there is.
std::vector<BindLogLine> wait_for_bind_lines(const Mqlb& lb, std::string_view prefix, size_t count,
                                             Millis timeout = Millis(10000));
// The bind line starting with `prefix` for `client` ("IP:PORT"); throws if
// none is written within `timeout`.
BindLogLine bind_line_for(const Mqlb& lb, const std::string& client, std::string_view prefix,
                          Millis timeout = Millis(10000));

// "... mqtt/1: TLS handshake done: worker=1 TLSv1.3 TLS_AES_256_GCM_SHA384
// resumed=yes client-cert=none" (DEBUG level).
struct HandshakeDone {
  BindLogLine line;
  int worker = 0;
  std::string protocol;
  std::string cipher;
  bool resumed = false;
  std::string client_cert;  // "none", or "verified CN=device-1"
};
std::optional<HandshakeDone> parse_handshake_done(std::string_view line);

// A syslog target at level debug for a frontend's "log" list, and what it
// received: the lines without their RFC 3164 header.
class DebugLog {
 public:
  DebugLog() = default;
  // {"address": "127.0.0.1:PORT", "level": "debug"}
  nlohmann::json target() const;
  // Everything received so far (reads what has arrived).
  const std::vector<std::string>& lines();
  std::vector<HandshakeDone> handshakes();
  // Waits until at least `count` handshake lines arrived; throws after
  // `timeout` showing what there is.
  std::vector<HandshakeDone> wait_for_handshakes(size_t count, Millis timeout = Millis(10000));

 private:
  UdpReceiver receiver_;
  std::vector<std::string> lines_;
};

}  // namespace mqlb::test
