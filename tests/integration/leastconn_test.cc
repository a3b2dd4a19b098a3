// leastconn: long-lived MQTT sessions spread evenly over the brokers, and a
// new session goes to the broker with the fewest live ones.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "support/broker.h"
#include "support/mqlb.h"
#include "support/mqtt.h"
#include "support/net.h"
#include "support/temp_dir.h"
#include "support/wait.h"

using namespace mqlb::test;

namespace {

// A held-open MQTT session through mqlb that announces its client id on
// "whoami/<id>", so the subscriber that gets it tells which broker it is on.
struct Device {
  std::string id;
  Socket socket;
};

Device connect_device(uint16_t port, const std::string& id) {
  Device device{id, mqtt::connect(port, id)};
  device.socket.send_all(mqtt::publish_packet("whoami/" + id, id));
  return device;
}

// Which broker ("b1"/"b2") each announced client id reached.
std::map<std::string, std::string> placement(const Subscriber& on_b1, const Subscriber& on_b2) {
  std::map<std::string, std::string> where;
  for (const auto& id : on_b1.payloads()) {
    where[id] = "b1";
  }
  for (const auto& id : on_b2.payloads()) {
    where[id] = "b2";
  }
  return where;
}

int count_on(const std::map<std::string, std::string>& where, const std::vector<Device>& devices,
             const std::string& broker) {
  int n = 0;
  for (const auto& device : devices) {
    auto it = where.find(device.id);
    if (it != where.end() && it->second == broker) ++n;
  }
  return n;
}

}  // namespace

TEST_CASE("leastconn balances long-lived sessions and fills the emptier broker first",
          "[integration][leastconn]") {
  TempDir dir;
  Broker b1(dir);
  Broker b2(dir);
  Subscriber on_b1(dir, b1.port(), "whoami/#");
  Subscriber on_b2(dir, b2.port(), "whoami/#");
  nlohmann::json config = basic_config(free_port(), {{"b1", b1.port()}, {"b2", b2.port()}});
  config["backends"][0]["balance"] = "leastconn";
  Mqlb lb(dir, config);

  // Twenty devices connect one after the other and stay connected.
  std::vector<Device> devices;
  for (int n = 1; n <= 20; ++n) {
    devices.push_back(connect_device(lb.port(), "dev" + std::to_string(n)));
  }
  std::map<std::string, std::string> where;
  REQUIRE(
      wait_until([&] { return (where = placement(on_b1, on_b2)).size() == 20; }, Millis(10000)));
  const int on_first = count_on(where, devices, "b1");
  const int on_second = count_on(where, devices, "b2");
  CHECK(on_first + on_second == 20);
  CHECK(std::abs(on_first - on_second) <= 1);
  REQUIRE(on_first >= 6);

  // Six devices on b1 leave: b1 now holds six fewer sessions than b2...
  std::vector<Device> staying;
  int left = 0;
  for (auto& device : devices) {
    if (left < 6 && where[device.id] == "b1") {
      device.socket.send_all(mqtt::disconnect_packet());
      device.socket.close();
      ++left;
    } else {
      staying.push_back(std::move(device));
    }
  }
  lb.wait_for_access_lines(6);

  // ...so the next six devices all go to b1, and the brokers are even again.
  for (int n = 21; n <= 26; ++n) {
    staying.push_back(connect_device(lb.port(), "dev" + std::to_string(n)));
  }
  REQUIRE(
      wait_until([&] { return (where = placement(on_b1, on_b2)).size() == 26; }, Millis(10000)));
  for (int n = 21; n <= 26; ++n) {
    INFO("dev" << n);
    CHECK(where["dev" + std::to_string(n)] == "b1");
  }
  CHECK(std::abs(count_on(where, staying, "b1") - count_on(where, staying, "b2")) <= 1);
}
