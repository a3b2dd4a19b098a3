#include "support/tls.h"

#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>

#include "support/process.h"

namespace mqlb::test {
namespace {

namespace fs = std::filesystem;

// Extensions for `openssl req -extensions`, and the database `openssl ca`
// needs to revoke a certificate and issue a CRL. Nothing is taken from the
// system's openssl.cnf, so its defaults cannot change what we make.
std::string openssl_conf(const fs::path& tls_dir) {
  return "[req]\n"
         "distinguished_name = dn\n"
         "prompt = no\n"
         "[dn]\n"
         "[ca_ext]\n"
         "basicConstraints = critical,CA:TRUE\n"
         "keyUsage = critical,keyCertSign,cRLSign\n"
         "subjectKeyIdentifier = hash\n"
         "[server_ext]\n"
         "basicConstraints = critical,CA:FALSE\n"
         "keyUsage = critical,digitalSignature,keyEncipherment\n"
         "extendedKeyUsage = serverAuth\n"
         "[client_ext]\n"
         "basicConstraints = critical,CA:FALSE\n"
         "keyUsage = critical,digitalSignature\n"
         "extendedKeyUsage = clientAuth\n"
         "[ca]\n"
         "default_ca = test_ca\n"
         "[test_ca]\n"
         "database = " +
         (tls_dir / "index.txt").string() +
         "\n"
         "crlnumber = " +
         (tls_dir / "crlnumber").string() +
         "\n"
         "default_md = sha256\n"
         "default_crl_days = 30\n";
}

std::string joined(const std::vector<std::string>& argv) {
  std::string text;
  for (const auto& arg : argv) {
    text += (text.empty() ? "" : " ") + arg;
  }
  return text;
}

// Runs `openssl args...` to completion; its stdout, or throws with its stderr.
std::string openssl(TempDir& dir, const std::vector<std::string>& args) {
  std::vector<std::string> argv{"openssl"};
  argv.insert(argv.end(), args.begin(), args.end());
  const RunResult result = run(dir, "openssl", argv, Millis(20000));
  if (result.exit_code != 0) {
    throw std::runtime_error(joined(argv) + " failed with exit code " +
                             std::to_string(result.exit_code) + ": " + result.stderr_text);
  }
  return result.stdout_text;
}

// The value after "name=" in `openssl x509 -noout -serial -subject` output.
std::string field(const std::string& x509_output, const std::string& name) {
  std::istringstream lines(x509_output);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(name + "=", 0) == 0) return line.substr(name.size() + 1);
  }
  return "";
}

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out.flush()) throw std::runtime_error("cannot write " + path.string());
}

struct Ca {
  fs::path cert;
  fs::path key;
};

enum class KeyType { kEcP256, kRsa2048 };

std::vector<std::string> new_key(KeyType type) {
  if (type == KeyType::kRsa2048) return {"-newkey", "rsa:2048"};
  return {"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"};
}

class Pki {
 public:
  explicit Pki(TempDir& dir) : dir_(dir), tls_dir_(dir.path() / "tls") {
    if (!fs::create_directory(tls_dir_)) {
      throw std::runtime_error("make_tls_files: " + tls_dir_.string() + " exists already");
    }
    conf_ = tls_dir_ / "openssl.cnf";
    write_text(conf_, openssl_conf(tls_dir_));
    write_text(tls_dir_ / "index.txt", "");
    write_text(tls_dir_ / "crlnumber", "01\n");
  }

  const fs::path& tls_dir() const { return tls_dir_; }

  Ca make_ca(const std::string& name, const std::string& cn) {
    Ca ca{tls_dir_ / (name + ".crt"), tls_dir_ / (name + ".key")};
    std::vector<std::string> args{"req",          "-x509",       "-config",
                                  conf_.string(), "-extensions", "ca_ext"};
    const auto key = new_key(KeyType::kEcP256);
    args.insert(args.end(), key.begin(), key.end());
    args.insert(args.end(), {"-noenc", "-keyout", ca.key.string(), "-out", ca.cert.string(),
                             "-days", "3650", "-subj", "/CN=" + cn, "-set_serial", next_serial()});
    openssl(dir_, args);
    return ca;
  }

  // A certificate for `cn` signed by `ca`, with its bundle at `pem`: for a
  // server (`san` non-empty) certificate, key and CA certificate; for a
  // client certificate and key.
  TlsBundle issue(const Ca& ca, const std::string& cn, const std::string& san, KeyType type,
                  const fs::path& pem) {
    const std::string stem = pem.stem().string();
    TlsBundle bundle;
    bundle.pem = pem;
    bundle.cert = tls_dir_ / (stem + ".crt");
    bundle.key = tls_dir_ / (stem + ".key");
    std::vector<std::string> args{
        "req",           "-config",        conf_.string(),
        "-CA",           ca.cert.string(), "-CAkey",
        ca.key.string(), "-extensions",    san.empty() ? "client_ext" : "server_ext"};
    if (!san.empty()) args.insert(args.end(), {"-addext", "subjectAltName=" + san});
    const auto key = new_key(type);
    args.insert(args.end(), key.begin(), key.end());
    args.insert(args.end(), {"-noenc", "-keyout", bundle.key.string(), "-out", bundle.cert.string(),
                             "-days", "365", "-subj", "/CN=" + cn, "-set_serial", next_serial()});
    openssl(dir_, args);
    std::string text = read_file(bundle.cert) + read_file(bundle.key);
    if (!san.empty()) text += read_file(ca.cert);
    write_text(pem, text);
    const std::string x509 =
        openssl(dir_, {"x509", "-in", bundle.cert.string(), "-noout", "-serial", "-subject"});
    bundle.serial = field(x509, "serial");
    bundle.subject = field(x509, "subject");
    return bundle;
  }

  fs::path revoke(const Ca& ca, const TlsBundle& bundle) {
    const fs::path crl = tls_dir_ / "crl.pem";
    const std::vector<std::string> ca_args{
        "ca", "-config", conf_.string(), "-cert", ca.cert.string(), "-keyfile", ca.key.string()};
    std::vector<std::string> args = ca_args;
    args.insert(args.end(), {"-revoke", bundle.cert.string()});
    openssl(dir_, args);
    args = ca_args;
    args.insert(args.end(), {"-gencrl", "-out", crl.string()});
    openssl(dir_, args);
    return crl;
  }

 private:
  // Distinct serials across every CA here, so a serial names one certificate.
  std::string next_serial() {
    std::ostringstream hex;
    hex << "0x" << std::hex << ++serial_;
    return hex.str();
  }

  TempDir& dir_;
  fs::path tls_dir_;
  fs::path conf_;
  unsigned serial_ = 0x1000;
};

constexpr char kServerSan[] = "DNS:mqlb.test,DNS:localhost,IP:127.0.0.1";

std::smatch first_match(const std::string& text, const std::regex& pattern) {
  std::smatch match;
  std::regex_search(text, match, pattern);
  return match;
}

}  // namespace

TlsFiles make_tls_files(TempDir& dir) {
  Pki pki(dir);
  const fs::path& d = pki.tls_dir();
  TlsFiles files;
  const Ca ca = pki.make_ca("ca", "mqlb test CA");
  const Ca other = pki.make_ca("other-ca", "unrelated test CA");
  files.ca = ca.cert;
  files.other_ca = other.cert;
  files.server = pki.issue(ca, "mqlb.test", kServerSan, KeyType::kEcP256, d / "server.pem");
  files.server_rsa =
      pki.issue(ca, "mqlb.test", kServerSan, KeyType::kRsa2048, d / "server-rsa.pem");
  files.replacement =
      pki.issue(ca, "mqlb.test", kServerSan, KeyType::kEcP256, d / "replacement.pem");
  files.sni_dir = d / "sni";
  fs::create_directory(files.sni_dir);
  files.sni_a = pki.issue(ca, "a.mqlb.test", "DNS:a.mqlb.test", KeyType::kEcP256,
                          files.sni_dir / "a.mqlb.test.pem");
  files.sni_b = pki.issue(ca, "b.mqlb.test", "DNS:b.mqlb.test", KeyType::kEcP256,
                          files.sni_dir / "b.mqlb.test.pem");
  files.client = pki.issue(ca, "device-1", "", KeyType::kEcP256, d / "client.pem");
  files.revoked_client =
      pki.issue(ca, "device-revoked", "", KeyType::kEcP256, d / "revoked-client.pem");
  files.other_ca_client =
      pki.issue(other, "device-1", "", KeyType::kEcP256, d / "other-ca-client.pem");
  files.crl = pki.revoke(ca, files.revoked_client);
  return files;
}

void install_file(const fs::path& source, const fs::path& target) {
  const fs::path temporary = target.string() + ".new";
  fs::copy_file(source, temporary, fs::copy_options::overwrite_existing);
  fs::rename(temporary, target);
}

nlohmann::json tls_bind(uint16_t port, const fs::path& crt) {
  return {{"address", "127.0.0.1:" + std::to_string(port)}, {"ssl", true}, {"crt", crt.string()}};
}

nlohmann::json basic_tls_config(uint16_t port, const fs::path& crt,
                                const std::vector<BackendServer>& servers) {
  nlohmann::json config = basic_config(port, servers);
  config["frontends"][0]["bind"] = nlohmann::json::array({tls_bind(port, crt)});
  return config;
}

SClient parse_s_client_output(const std::string& output) {
  SClient result;
  result.output = output;
  static const std::regex kSummary(R"((?:^|\n)(New|Reused), ([^,\n]+), Cipher is (\S+))");
  static const std::regex kProtocol(R"(\n\s+Protocol\s*: (\S+))");
  static const std::regex kAlpn(R"((?:^|\n)ALPN protocol: (\S+))");
  static const std::regex kVerify(R"((?:^|\n)\s*Verify return code: (\d+) \(([^)\n]*)\))");
  // "80EB...:error:0A000458:SSL routines:ssl3_read_bytes:tlsv13 alert
  // certificate required:../ssl/record/rec_layer_s3.c:1601:SSL alert number 116"
  static const std::regex kAlert(
      R"((?:^|\n)[^:\n]*:error:[^:\n]*:[^:\n]*:[^:\n]*:([^:\n]*):[^\n]*SSL alert number (\d+))");
  // s_client prints its summary after a failed handshake too, with the
  // cipher of the server's hello; -state tells the two apart.
  static const std::regex kFailedInHandshake(R"((?:^|\n)SSL_connect:(?:error|failed) in )");
  if (const auto m = first_match(output, kSummary); !m.empty()) {
    result.reused = m[1] == "Reused";
    result.cipher = m[3];
    result.handshake = result.cipher != "(NONE)" && result.cipher != "0000" &&
                       first_match(output, kFailedInHandshake).empty();
    result.protocol = m[2];
  }
  // The session's protocol, not the cipher's (which the summary line shows:
  // "TLSv1.0" for a TLS 1.0 cipher negotiated under TLS 1.2).
  if (const auto m = first_match(output, kProtocol); !m.empty()) result.protocol = m[1];
  if (const auto m = first_match(output, kAlpn); !m.empty()) result.alpn = m[1];
  if (const auto m = first_match(output, kVerify); !m.empty()) {
    result.verify_code = std::stoi(m[1]);
    result.verify_text = m[2];
  }
  if (const auto m = first_match(output, kAlert); !m.empty()) {
    result.alert_text = m[1];
    result.alert = std::stoi(m[2]);
  }
  return result;
}

std::string first_pem_certificate(const std::string& text) {
  static constexpr std::string_view kBegin = "-----BEGIN CERTIFICATE-----";
  static constexpr std::string_view kEnd = "-----END CERTIFICATE-----";
  const auto begin = text.find(kBegin);
  if (begin == std::string::npos) return "";
  const auto end = text.find(kEnd, begin);
  if (end == std::string::npos) return "";
  return text.substr(begin, end + kEnd.size() - begin) + "\n";
}

SClient s_client(TempDir& dir, uint16_t port, const SClientOptions& options) {
  std::vector<std::string> argv{"openssl", "s_client", "-state", "-connect",
                                "127.0.0.1:" + std::to_string(port)};
  auto add = [&](const char* flag, const std::string& value) {
    if (!value.empty()) argv.insert(argv.end(), {flag, value});
  };
  std::string cipher = options.cipher;
  switch (options.version) {
    case TlsVersion::Any:
      break;
    case TlsVersion::V1_0:
    case TlsVersion::V1_1:
      argv.push_back(options.version == TlsVersion::V1_0 ? "-tls1" : "-tls1_1");
      cipher = (cipher.empty() ? "DEFAULT" : cipher) + ":@SECLEVEL=0";
      break;
    case TlsVersion::V1_2:
      argv.push_back("-tls1_2");
      break;
    case TlsVersion::V1_3:
      argv.push_back("-tls1_3");
      break;
  }
  add("-servername", options.servername);
  add("-cipher", cipher);
  add("-ciphersuites", options.ciphersuites);
  add("-alpn", options.alpn);
  add("-cert", options.cert.string());
  add("-key", options.key.string());
  add("-CAfile", options.ca_file.string());
  add("-sess_out", options.sess_out.string());
  add("-sess_in", options.sess_in.string());

  // bash feeds stdin and then replaces itself with s_client (exec), so the
  // PID that Process watches and kills is s_client's. The feeder ends by
  // itself after `linger`.
  const double linger_s = static_cast<double>(options.linger.count()) / 1000.0;
  std::vector<std::string> command{
      "bash",
      "-c",
      R"(input=$1; linger=$2; shift 2; exec "$@" < <(printf %s "$input"; sleep "$linger"))",
      "s_client",
      options.send,
      std::to_string(linger_s)};
  command.insert(command.end(), argv.begin(), argv.end());
  const RunResult run_result = run(dir, "s_client", command, options.timeout);

  SClient result = parse_s_client_output(run_result.stdout_text + run_result.stderr_text);
  result.exit_code = run_result.exit_code;
  const std::string peer = first_pem_certificate(run_result.stdout_text);
  if (!peer.empty()) {
    const fs::path cert = dir.write("s_client-peer.crt", peer);
    const std::string x509 =
        openssl(dir, {"x509", "-in", cert.string(), "-noout", "-serial", "-subject"});
    result.peer_serial = field(x509, "serial");
    result.peer_subject = field(x509, "subject");
  }
  return result;
}

std::optional<BindLogLine> parse_bind_log_line(std::string_view line) {
  static const std::regex kLine(R"(^(\S+):(\d+) \[[^\]]+\] ([^/\s]+)/([^:\s]+): (.*?)\s*$)");
  std::match_results<std::string_view::const_iterator> m;
  if (!std::regex_search(line.begin(), line.end(), m, kLine)) return std::nullopt;
  BindLogLine out;
  out.client = std::string(m[1]) + ":" + std::string(m[2]);
  out.client_port = static_cast<uint16_t>(std::stoul(m[2]));
  out.frontend = m[3];
  out.bind = m[4];
  out.message = m[5];
  out.raw = std::string(line);
  return out;
}

std::vector<BindLogLine> bind_log_lines(const std::string& text) {
  std::vector<BindLogLine> out;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (auto parsed = parse_bind_log_line(line)) out.push_back(std::move(*parsed));
  }
  return out;
}

std::vector<BindLogLine> bind_log_lines(const std::string& text, std::string_view prefix) {
  std::vector<BindLogLine> out;
  for (auto& line : bind_log_lines(text)) {
    if (std::string_view(line.message).substr(0, prefix.size()) == prefix) {
      out.push_back(std::move(line));
    }
  }
  return out;
}

std::vector<BindLogLine> wait_for_bind_lines(const Mqlb& lb, std::string_view prefix, size_t count,
                                             Millis timeout) {
  std::vector<BindLogLine> found;
  if (wait_until([&] { return (found = bind_log_lines(lb.stdout_text(), prefix)).size() >= count; },
                 timeout)) {
    return found;
  }
  throw std::runtime_error("expected " + std::to_string(count) + " lines '" + std::string(prefix) +
                           "' from mqlb within " + std::to_string(timeout.count()) + " ms, got " +
                           std::to_string(found.size()) + "; stdout:\n" + lb.stdout_text());
}

BindLogLine bind_line_for(const Mqlb& lb, const std::string& client, std::string_view prefix,
                          Millis timeout) {
  std::optional<BindLogLine> found;
  wait_until(
      [&] {
        for (auto& line : bind_log_lines(lb.stdout_text(), prefix)) {
          if (line.client == client) found = std::move(line);
        }
        return found.has_value();
      },
      timeout);
  if (!found) {
    throw std::runtime_error("no line '" + std::string(prefix) + "' for client " + client +
                             " within " + std::to_string(timeout.count()) + " ms; stdout:\n" +
                             lb.stdout_text());
  }
  return *found;
}

std::optional<HandshakeDone> parse_handshake_done(std::string_view line) {
  auto parsed = parse_bind_log_line(line);
  if (!parsed) return std::nullopt;
  static const std::regex kDone(
      R"(^TLS handshake done: worker=(\d+) (\S+) (\S+) resumed=(yes|no) client-cert=(.+)$)");
  std::smatch m;
  if (!std::regex_match(parsed->message, m, kDone)) return std::nullopt;
  HandshakeDone done;
  done.worker = std::stoi(m[1]);
  done.protocol = m[2];
  done.cipher = m[3];
  done.resumed = m[4] == "yes";
  done.client_cert = m[5];
  done.line = std::move(*parsed);
  return done;
}

nlohmann::json DebugLog::target() const {
  return {{"address", "127.0.0.1:" + std::to_string(receiver_.port())}, {"level", "debug"}};
}

const std::vector<std::string>& DebugLog::lines() {
  static const std::regex kRfc3164(R"(^<\d+>[A-Z][a-z]{2} [ 1-3]\d \d{2}:\d{2}:\d{2} \S+: )");
  while (auto datagram = receiver_.receive(Millis(0))) {
    std::string line = std::regex_replace(*datagram, kRfc3164, "");
    while (!line.empty() && line.back() == '\n')
      line.pop_back();
    lines_.push_back(std::move(line));
  }
  return lines_;
}

std::vector<HandshakeDone> DebugLog::handshakes() {
  std::vector<HandshakeDone> out;
  for (const auto& line : lines()) {
    if (auto done = parse_handshake_done(line)) out.push_back(std::move(*done));
  }
  return out;
}

std::vector<HandshakeDone> DebugLog::wait_for_handshakes(size_t count, Millis timeout) {
  std::vector<HandshakeDone> found;
  if (wait_until([&] { return (found = handshakes()).size() >= count; }, timeout)) return found;
  std::string seen;
  for (const auto& line : lines_) {
    seen += line + "\n";
  }
  throw std::runtime_error("expected " + std::to_string(count) +
                           " 'TLS handshake done' lines on the debug log target within " +
                           std::to_string(timeout.count()) + " ms, got " +
                           std::to_string(found.size()) + "; it received:\n" + seen);
}

}  // namespace mqlb::test
