// Throwaway certificates and in-memory handshakes for the tls/ tests.
#include "tests/unit/tls/pki.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <vector>

#include "tls/context.h"

namespace mqlb::tls::test {
namespace {

constexpr const char* kConfig = R"([req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca_ext]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[server_ext]
basicConstraints = CA:FALSE
subjectAltName = DNS:mqtt.example.com,DNS:*.devices.example.com
[other_ext]
basicConstraints = CA:FALSE
subjectAltName = DNS:broker.example.org,DNS:*.broker.example.org
[plain_ext]
basicConstraints = CA:FALSE
[rsa_ext]
basicConstraints = CA:FALSE
subjectAltName = DNS:rsa.example.com
[dual_ext]
basicConstraints = CA:FALSE
subjectAltName = DNS:dual.example.com
[client_ext]
basicConstraints = CA:FALSE
extendedKeyUsage = clientAuth
[ca]
default_ca = testca
[testca]
database = ./index.txt
crlnumber = ./crlnumber
default_md = sha256
default_crl_days = 2
)";

// key NAME; sign NAME SUBJECT ISSUER SERIAL EXTENSIONS
constexpr const char* kScript = R"(set -e
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out $1.key; }
sign() {
  openssl req -new -key $1.key -subj "$2" -config pki.cnf -out $1.csr
  openssl x509 -req -in $1.csr -CA $3.pem -CAkey $3.key -set_serial $4 -days 2 \
    -extfile pki.cnf -extensions $5 -out $1.pem
}
key ca
openssl req -x509 -new -key ca.key -subj "/CN=Test Root CA" -days 2 -config pki.cnf \
  -extensions ca_ext -out ca.pem
key inter; sign inter "/CN=Test Intermediate CA" ca 0x100 ca_ext
key server; sign server /CN=mqtt.example.com inter 0x1001 server_ext
cat server.key inter.pem server.pem > server-bundle.pem
key other; sign other /CN=broker.example.org ca 0x2002 other_ext
cat other.pem other.key > other-bundle.pem
key legacy; sign legacy /CN=legacy.example.net ca 0x2003 plain_ext
cat legacy.pem legacy.key > legacy-bundle.pem
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.key
sign rsa /CN=rsa.example.com ca 0x4004 rsa_ext
cat rsa.pem rsa.key > rsa-bundle.pem
key dual; sign dual /CN=dual.example.com ca 0x5005 dual_ext
cat dual.pem dual.key > dual.pem.ecdsa
cp rsa.key dualrsa.key; sign dualrsa /CN=dual.example.com ca 0x5006 dual_ext
cat dualrsa.pem dualrsa.key > dual.pem.rsa
rm dual.pem
mkdir certs
cp other-bundle.pem certs/10-other.pem
cp legacy-bundle.pem certs/20-legacy.pem
cp rsa-bundle.pem certs/30-rsa.pem
echo junk > certs/junk.key
key client; sign client /CN=device-1 ca 0x3001 client_ext
cat client.pem client.key > client-bundle.pem
key revoked; sign revoked /CN=device-2 ca 0x3002 client_ext
cat revoked.pem revoked.key > revoked-bundle.pem
touch index.txt; echo 01 > crlnumber
openssl ca -config pki.cnf -keyfile ca.key -cert ca.pem -revoke revoked.pem
openssl ca -config pki.cnf -keyfile ca.key -cert ca.pem -gencrl -out crl.pem
key otherca
openssl req -x509 -new -key otherca.key -subj "/CN=Other CA" -days 2 -config pki.cnf \
  -extensions ca_ext -out otherca.pem
key otherclient; sign otherclient /CN=device-9 otherca 0x9009 client_ext
cat otherclient.pem otherclient.key > otherclient-bundle.pem
cat server.pem other.key > mismatch.pem
cp server.pem nokey.pem
echo 'this is not a certificate' > garbage.pem
)";

struct Pki {
  std::string dir;

  Pki() {
    char tmpl[] = "/tmp/mqlb-tls-test-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir = tmpl;
    std::ofstream(dir + "/pki.cnf") << kConfig;
    std::ofstream(dir + "/make.sh") << kScript;
    const std::string command = "cd '" + dir + "' && sh make.sh > make.log 2>&1";
    if (std::system(command.c_str()) != 0)
      throw std::runtime_error("generating test certificates failed, see " + dir + "/make.log");
  }
  ~Pki() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

void step(SSL* ssl, bool& ok, bool& failed, std::string& reason) {
  if (ok || failed) return;
  ERR_clear_error();
  const int r = SSL_do_handshake(ssl);
  if (r == 1) {
    ok = true;
    return;
  }
  const int error = SSL_get_error(ssl, r);
  if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) return;
  failed = true;
  reason = failure_reason(ssl, error);
}

}  // namespace

const std::string& pki_dir() {
  static const Pki pki;
  return pki.dir;
}

std::string pki(const std::string& name) {
  return pki_dir() + "/" + name;
}

Outcome handshake(SSL* server, SSL* client) {
  BIO* server_bio = nullptr;
  BIO* client_bio = nullptr;
  BIO_new_bio_pair(&server_bio, 0, &client_bio, 0);
  SSL_set_bio(server, server_bio, server_bio);
  SSL_set_bio(client, client_bio, client_bio);
  Outcome out;
  bool server_failed = false;
  bool client_failed = false;
  for (int i = 0; i < 50; ++i) {
    step(client, out.client_ok, client_failed, out.client_reason);
    step(server, out.server_ok, server_failed, out.server_reason);
    if ((out.client_ok || client_failed) && (out.server_ok || server_failed)) break;
  }
  if (out.ok()) {
    // TLS 1.3 tickets arrive after the handshake; reading takes them in.
    char byte;
    ERR_clear_error();
    SSL_read(client, &byte, 1);
    ERR_clear_error();
  }
  return out;
}

std::string ticket_key(char seed, size_t size) {
  std::vector<unsigned char> bytes(size);
  for (size_t i = 0; i < size; ++i)
    bytes[i] = static_cast<unsigned char>(seed + i % 7);
  std::string out(4 * ((size + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes.data(),
                                static_cast<int>(size));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::string peer_serial(const SSL* ssl) {
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (cert == nullptr) return "";
  BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr);
  char* hex = BN_bn2hex(bn);
  std::string out = hex;
  OPENSSL_free(hex);
  BN_free(bn);
  return out;
}

}  // namespace mqlb::tls::test
