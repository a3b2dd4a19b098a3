// CONNECT/DISCONNECT bytes against hand-computed ones; CONNACK decoded in pieces.
#include "health/mqtt_check.h"

#include <catch2/catch.hpp>

#include "bytes.h"

namespace mqlb::health {
namespace {

using test::bytes;
using test::hex;
using D = ConnackDecoder;

TEST_CASE("a 3.1.1 CONNECT with an empty client id and keepalive 60", "[health]") {
  ConnectPacket p;
  p.protocol = 4;
  p.keepalive = 60;
  // 10 = CONNECT, 0c = 12 bytes follow: 0004 "MQTT", level 04, flags 02 (clean
  // session), keepalive 003c, client id 0000.
  CHECK(hex(encode_connect(p)) == "100c00044d5154540402003c0000");
}

TEST_CASE("the tcp-check string operators copy has a remaining length of 16 for 12 bytes",
          "[health]") {
  // 101000044d5154540402003c0000 announces 0x10 = 16 bytes but carries 12: a
  // broker waits for 4 more and never answers. Ours differs in that byte only.
  const std::string theirs = "101000044d5154540402003c0000";
  const std::string ours = hex(encode_connect(ConnectPacket{}));
  REQUIRE(ours.size() == theirs.size());
  CHECK(ours.substr(0, 2) == theirs.substr(0, 2));
  CHECK(ours.substr(2, 2) == "0c");
  CHECK(ours.substr(4) == theirs.substr(4));
}

TEST_CASE("a 3.1.1 CONNECT with client id, user name and password", "[health]") {
  ConnectPacket p;
  p.client_id = "mqlb-check";
  p.username = "u";
  p.password = "p";
  p.keepalive = 30;
  // flags c2: user name, password, clean session. 28 = 10 + 12 + 3 + 3 bytes.
  CHECK(hex(encode_connect(p)) ==
        "101c00044d51545404c2001e"
        "000a6d716c622d636865636b"
        "000175"
        "000170");
}

TEST_CASE("an MQTT 5 CONNECT has level 5 and an empty property list", "[health]") {
  ConnectPacket p;
  p.protocol = 5;
  CHECK(hex(encode_connect(p)) == "100d00044d5154540502003c000000");

  p.clean = false;
  p.client_id = "c";
  CHECK(hex(encode_connect(p)) == "100e00044d5154540500003c00000163");
}

TEST_CASE("a remaining length over 127 takes two bytes", "[health]") {
  ConnectPacket p;
  p.client_id = std::string(200, 'x');  // 10 + 2 + 200 = 212 = 0xd4 -> d4 01
  const std::string b = encode_connect(p);
  CHECK(hex(b.substr(0, 3)) == "10d401");
  CHECK(b.size() == 3 + 212);
}

TEST_CASE("DISCONNECT is e0 00", "[health]") {
  CHECK(hex(encode_disconnect()) == "e000");
}

TEST_CASE("a CONNACK arriving one byte at a time", "[health]") {
  D d(4);
  CHECK(d.feed(bytes("20")) == D::Result{D::NeedMore{}});
  CHECK(d.feed(bytes("02")) == D::Result{D::NeedMore{}});
  CHECK(d.feed(bytes("01")) == D::Result{D::NeedMore{}});
  CHECK(d.feed(bytes("00")) == D::Result{D::Accepted{true}});
  CHECK(d.feed(bytes("ff")) == D::Result{D::Accepted{true}});  // the result stays
}

TEST_CASE("every 3.1.1 return code has its words", "[health]") {
  const char* words[] = {"Unacceptable protocol version", "Identifier rejected",
                         "Server unavailable", "Bad user name or password", "Not authorized"};
  for (int code = 1; code <= 5; ++code) {
    D d(4);
    const std::string packet = std::string("\x20\x02\x00", 3) + static_cast<char>(code);
    CHECK(d.feed(packet) == D::Result{D::Refused{code, words[code - 1]}});
  }
  D reserved(4);
  CHECK(reserved.feed(bytes("20020009")) == D::Result{D::Refused{9, "reserved return code"}});
}

TEST_CASE("MQTT 5 reason codes have the spec's names", "[health]") {
  struct Row {
    int code;
    const char* name;
  };
  const Row rows[] = {
      {0x80, "Unspecified error"},
      {0x81, "Malformed Packet"},
      {0x82, "Protocol Error"},
      {0x83, "Implementation specific error"},
      {0x84, "Unsupported Protocol Version"},
      {0x85, "Client Identifier not valid"},
      {0x86, "Bad User Name or Password"},
      {0x87, "Not authorized"},
      {0x88, "Server unavailable"},
      {0x89, "Server busy"},
      {0x8a, "Banned"},
      {0x8c, "Bad authentication method"},
      {0x90, "Topic Name invalid"},
      {0x95, "Packet too large"},
      {0x97, "Quota exceeded"},
      {0x99, "Payload format invalid"},
      {0x9a, "Retain not supported"},
      {0x9b, "QoS not supported"},
      {0x9c, "Use another server"},
      {0x9d, "Server moved"},
      {0x9f, "Connection rate exceeded"},
  };
  for (const auto& row : rows) {
    D d(5);
    const std::string packet = std::string("\x20\x03\x00", 3) + static_cast<char>(row.code) + '\0';
    CHECK(d.feed(packet) == D::Result{D::Refused{row.code, row.name}});
  }
  D unknown(5);
  CHECK(unknown.feed(bytes("2003008b00")) == D::Result{D::Refused{0x8b, "unknown reason code"}});
}

TEST_CASE("an MQTT 5 CONNACK with properties, split inside them", "[health]") {
  D d(5);
  // 21 000a: Receive Maximum 10.
  CHECK(d.feed(bytes("2006000003")) == D::Result{D::NeedMore{}});
  CHECK(d.feed(bytes("2100")) == D::Result{D::NeedMore{}});
  CHECK(d.feed(bytes("0a")) == D::Result{D::Accepted{false}});
}

TEST_CASE("what is not a CONNACK is invalid", "[health]") {
  CHECK(D(4).feed(bytes("30020000")) == D::Result{D::Invalid{"not a CONNACK (first byte 0x30)"}});
  CHECK(D(4).feed(bytes("101000044d515454")) ==
        D::Result{D::Invalid{"not a CONNACK (first byte 0x10)"}});
  CHECK(D(4).feed(bytes("2003000000")) == D::Result{D::Invalid{"bad CONNACK length 3"}});
  CHECK(D(5).feed(bytes("2001")) == D::Result{D::Invalid{"bad CONNACK length 1"}});
  CHECK(D(4).feed(bytes("20020200")) == D::Result{D::Invalid{"bad CONNACK flags 0x02"}});
  CHECK(D(5).feed(bytes("2003000005")) == D::Result{D::Invalid{"bad CONNACK properties length"}});
  CHECK(D(5).feed(bytes("2003000500")) == D::Result{D::Invalid{"bad CONNACK reason code 0x05"}});
  CHECK(D(4).feed(bytes("20ffffffff")) ==
        D::Result{D::Invalid{"bad CONNACK length (more than 4 length bytes)"}});
}

}  // namespace
}  // namespace mqlb::health
