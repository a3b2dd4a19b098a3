// Just enough MQTT 3.1.1 to hold real client sessions open through mqlb:
// CONNECT (clean session), PUBLISH at QoS 0, DISCONNECT. Pure except
// mqtt_connect, which uses a Socket.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "support/net.h"

namespace mqlb::test::mqtt {

std::string connect_packet(std::string_view client_id, uint16_t keepalive_seconds = 60);
std::string publish_packet(std::string_view topic, std::string_view payload);
std::string disconnect_packet();

// Opens a TCP connection to 127.0.0.1:port, sends CONNECT and returns the
// socket once a CONNACK accepted it; throws otherwise.
Socket connect(uint16_t port, std::string_view client_id, Millis timeout = kIoTimeout);

}  // namespace mqlb::test::mqtt
