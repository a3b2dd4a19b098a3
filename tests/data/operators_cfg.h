#pragma once
// The operators' two haproxy.cfg files from the field (shared/examples),
// verbatim, for the loader's unit tests and the drop-in integration test
// (CI cannot read ../shared). Tests move the addresses to loopback.

namespace mqlb::test {

inline constexpr char kOperatorsProduction[] =
    R"(# The operators' production file on pellbroker1 (TLS termination on 8883),
# as they run it with HAProxy today. mqlb must run it unchanged.
defaults
  mode                tcp
#  log                 global
  log                 127.0.0.1 local0
  option              tcplog
  maxconn             5000
  timeout connect     5000
  timeout client      50000
  timeout server      50000

frontend mqtt
  bind 192.168.34.239:8883 ssl crt /etc/haproxy/haproxy.pem
  default_backend mqtt

backend mqtt
  mode tcp
  balance roundrobin
  server 192.168.34.240 192.168.34.240:1883 check
  server 192.168.34.241 192.168.34.241:1883 check
)";

inline constexpr char kOperatorsLab[] =
    R"(# The operators' lab file (plain MQTT on 1883, servers by host name).
defaults
    mode                tcp
    # log                global
    log 127.0.0.1 local0
    option              tcplog
    timeout connect     5000
    timeout client      50000
    timeout server      50000

#-----
# main frontend which proxys to the backends
#-----
frontend mqtt
    bind 0.0.0.0:1883
    default_backend    mqtt

backend mqtt
    mode tcp
    balance             roundrobin
    server slave01 slave01.mydomain:1883 check
    server slave02 slave02.mydomain:1883 check
)";

}  // namespace mqlb::test
