// A broken client never hurts another client's session (DESIGN.md §4): an
// MQTT device keeps publishing through mqlb to a real broker while other
// clients send garbage, reset in the middle of a large write, or give up
// while queued, and each broken client's session is logged for what it did.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "support/broker.h"
#include "support/mqlb.h"
#include "support/mqtt.h"
#include "support/net.h"
#include "support/scripted_server.h"
#include "support/sessions.h"
#include "support/temp_dir.h"
#include "support/wait.h"

using namespace mqlb::test;

TEST_CASE("garbage and aborted clients do not disturb a live MQTT session",
          "[integration][bad_input]") {
  TempDir dir;
  Broker broker(dir);
  Subscriber subscriber(dir, broker.port(), "steady");
  Mqlb lb(dir, basic_config(free_port(), {{"b1", broker.port()}}));

  Socket device = mqtt::connect(lb.port(), "steady-device");
  // More garbage than a broker reads before it gives up on a client, so it
  // hangs up with unread bytes: a reset.
  std::string garbage_bytes;
  while (garbage_bytes.size() < 16 * 1024)
    garbage_bytes += "\xff\xfe this is not MQTT ";
  const std::string big = mqtt::publish_packet("junk", std::string(4 * 1024 * 1024, 'x'));
  std::vector<uint16_t> garbage_ports, aborted_ports;
  for (int round = 0; round < 20; ++round) {
    // Garbage instead of a CONNECT: the broker hangs up on it.
    Socket garbage = Socket::connect(lb.port());
    garbage_ports.push_back(garbage.local_port());
    garbage.send_all(garbage_bytes);
    garbage.wait_closed(Millis(5000));

    // An MQTT client that resets halfway through a large PUBLISH, once mqlb
    // has read the part it sent: the reset is then all mqlb has left to read.
    Socket aborted = mqtt::connect(lb.port(), "aborting-device-" + std::to_string(round));
    aborted_ports.push_back(aborted.local_port());
    aborted.send_some(big.data(), big.size());
    CHECK(wait_until(
        [&] {
          return aborted.unacknowledged_bytes() == 0 &&
                 unread_bytes(lb.port(), aborted.local_port()) == 0;
        },
        Millis(10000)));
    aborted.reset();

    device.send_all(mqtt::publish_packet("steady", std::to_string(round)));
  }

  std::vector<std::string> expected;
  for (int round = 0; round < 20; ++round)
    expected.push_back(std::to_string(round));
  CHECK(wait_until([&] { return subscriber.payloads().size() >= expected.size(); }, Millis(10000)));
  CHECK(subscriber.payloads() == expected);
  device.send_all(mqtt::disconnect_packet());
  device.close();
  CHECK(lb.process().running());

  // Each bad client's own session is logged for what it was: the broker
  // aborted the garbage ones (SD), the client aborted the others (CD).
  for (uint16_t port : garbage_ports) {
    const AccessLine line = lb.access_line_for(port);
    INFO("garbage client: " << line.raw);
    CHECK(line.termination == "SD");
    CHECK(line.server == "b1");
  }
  for (uint16_t port : aborted_ports) {
    const AccessLine line = lb.access_line_for(port);
    INFO("aborting client: " << line.raw);
    CHECK(line.termination == "CD");
    CHECK(line.server == "b1");
    CHECK(line.bytes_read == 4);  // the CONNACK
  }
}

TEST_CASE("a client that resets while queued is let go at once with CQ",
          "[integration][queue][bad_input]") {
  TempDir dir;
  ScriptedServer backend(scripts::echo());
  Mqlb lb(dir, one_slot_config(backend.port(), "30s"));

  Socket first = echoed_session(lb.port(), "one");

  Socket queued = Socket::connect(lb.port());
  const uint16_t queued_port = queued.local_port();
  queued.send_all("waiting");
  CHECK_FALSE(queued.readable_within(Millis(300)));
  const auto start = Clock::now();
  queued.reset();

  // Logged long before timeout queue (30 s) would have ended it.
  const AccessLine line = lb.access_line_for(queued_port, Millis(5000));
  INFO(line.raw);
  CHECK(line.termination == "CQ");
  CHECK(line.server == "<NOSRV>");
  CHECK(elapsed_ms(start) < 5000);

  first.send_all("still served");
  CHECK(first.receive_exactly(12) == "still served");
  CHECK(backend.accepted() == 1);
}
