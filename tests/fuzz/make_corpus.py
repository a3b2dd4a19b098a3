#!/usr/bin/env python3
"""Captures real ClientHellos for the tls_handshake fuzz corpus.

For each variant below, a listener on 127.0.0.1 accepts one connection from
`openssl s_client`, records the TLS records that carry the ClientHello, and
closes; the file is the fuzzer's control byte (see tls_handshake_fuzz.cc)
followed by those bytes. Nothing leaves the loopback interface.

    tests/fuzz/make_corpus.py [DIR]   (default: tests/fuzz/corpus/tls_handshake)
"""

import os
import socket
import subprocess
import sys

# name, control byte, s_client options
VARIANTS = [
    ("tls13-x25519-sni-alpn", 0x00,
     ["-tls1_3", "-servername", "mqtt.example.com", "-alpn", "mqtt"]),
    ("tls13-p256-wildcard-sni-2byte-pieces", 0x05,
     ["-tls1_3", "-groups", "P-256", "-servername", "a.devices.example.com",
      "-alpn", "x-amzn-mqtt-ca,mqtt"]),
    ("tls13-1byte-pieces", 0x01,
     ["-tls1_3", "-servername", "mqtt.example.com", "-alpn", "mqtt"]),
    ("tls13-send-fails", 0x80,
     ["-tls1_3", "-servername", "mqtt.example.com"]),
    ("tls12-ecdsa-sni-alpn-random-pieces", 0x0e,
     ["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305",
      "-sigalgs", "ECDSA+SHA256:ECDSA+SHA384", "-servername", "mqtt.example.com",
      "-alpn", "mqtt"]),
    ("tls12-rsa-no-sni-small-pieces", 0x03,
     ["-tls1_2", "-cipher", "ECDHE-RSA-AES256-GCM-SHA384:AES128-SHA",
      "-sigalgs", "RSA+SHA256:RSA-PSS+SHA256", "-noservername"]),
    ("any-version-ecdsa-and-rsa", 0x00,
     ["-servername", "b.devices.example.com", "-alpn", "mqtt"]),
]


def read_exactly(conn, n):
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise RuntimeError("the client closed after %d of %d bytes" % (len(data), n))
        data += chunk
    return data


def client_hello(conn):
    """The handshake records up to the end of the ClientHello message."""
    records = b""
    body = b""
    while len(body) < 4 or len(body) < 4 + int.from_bytes(body[1:4], "big"):
        header = read_exactly(conn, 5)
        if header[0] != 22:
            raise RuntimeError("expected a handshake record, got type %d" % header[0])
        payload = read_exactly(conn, int.from_bytes(header[3:5], "big"))
        records += header + payload
        body += payload
    if body[0] != 1:
        raise RuntimeError("expected a ClientHello, got handshake type %d" % body[0])
    return records


def capture(options):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.settimeout(10)
        port = listener.getsockname()[1]
        client = subprocess.Popen(
            ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port] + options,
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            conn, _ = listener.accept()
            with conn:
                conn.settimeout(10)
                return client_hello(conn)
        finally:
            client.kill()
            client.wait()


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "corpus", "tls_handshake")
    os.makedirs(out, exist_ok=True)
    for name, control, options in VARIANTS:
        data = bytes([control]) + capture(options)
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
        print("%s: %d bytes" % (name, len(data)))


if __name__ == "__main__":
    main()
