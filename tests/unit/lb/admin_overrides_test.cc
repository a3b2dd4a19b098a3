// lb/admin/overrides: run-time server changes recorded over the files
// (record), the running configuration they give (apply, with its pruning
// notes), and the state file that keeps them (to_state_json /
// from_state_json).
#include "lb/admin/overrides.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "conf/config.h"

namespace mqlb::lb::admin {
namespace {

using Json = nlohmann::json;

conf::Server file_server(const std::string& name, uint16_t port) {
  conf::Server s;
  s.name = name;
  s.address = "127.0.0.1";
  s.port = port;
  return s;
}

// Backend "mqtt" with b1 (1884), b2 (1885, disabled in the file) and
// backend "other" with o1 (1886).
conf::Config files() {
  conf::Config c;
  c.file = "mqlb.json";
  conf::Backend mqtt;
  mqtt.name = "mqtt";
  mqtt.servers.push_back(file_server("b1", 1884));
  mqtt.servers.push_back(file_server("b2", 1885));
  mqtt.servers[1].disabled = true;
  c.backends.push_back(mqtt);
  conf::Backend other;
  other.name = "other";
  other.servers.push_back(file_server("o1", 1886));
  c.backends.push_back(other);
  return c;
}

const conf::Server* server(const conf::Config& c, const std::string& backend,
                           const std::string& name) {
  const conf::Backend* b = c.find_backend(backend);
  if (!b) return nullptr;
  for (const auto& s : b->servers)
    if (s.name == name) return &s;
  return nullptr;
}

std::vector<std::string> names(const conf::Config& c, const std::string& backend) {
  std::vector<std::string> out;
  for (const auto& s : c.find_backend(backend)->servers)
    out.push_back(s.name);
  return out;
}

SetServer set(const std::string& backend, const std::string& name, ServerOverride values) {
  return {backend, name, ServerPatch{values}};
}

AddServer add(const std::string& backend, const std::string& name, uint16_t port) {
  return {backend, file_server(name, port)};
}

// Overrides with one of each kind, to see that a failed record keeps them.
Overrides some_overrides() {
  Overrides o;
  o.servers["mqtt/b1"].weight = 7;
  o.added.push_back({"other", file_server("o2", 1900)});
  o.deleted.insert("mqtt/b2");
  return o;
}

// --- record ------------------------------------------------------------------

TEST_CASE("record of SetServer keeps each field as an override of its server",
          "[admin][overrides]") {
  Overrides o;
  ServerOverride v;
  v.admin = AdminState::Drain;
  v.weight = 12;
  v.address = "127.0.0.9";
  v.port = 1999;
  const Outcome out = record(o, set("mqtt", "b1", v), files());
  CHECK(out.status == 200);
  CHECK(out.error.empty());
  CHECK(out.field.empty());
  REQUIRE(o.servers.size() == 1);
  CHECK(o.servers.at("mqtt/b1") == v);
  CHECK(o.added.empty());
  CHECK(o.deleted.empty());
}

TEST_CASE("record of SetServer adds to the fields an earlier change set", "[admin][overrides]") {
  Overrides o;
  ServerOverride weight, admin;
  weight.weight = 3;
  admin.admin = AdminState::Maint;
  REQUIRE(record(o, set("mqtt", "b1", weight), files()).ok());
  REQUIRE(record(o, set("mqtt", "b1", admin), files()).ok());
  ServerOverride both;
  both.weight = 3;
  both.admin = AdminState::Maint;
  CHECK(o.servers.at("mqtt/b1") == both);
}

TEST_CASE("record of SetServer host names pass as addresses, resolved later",
          "[admin][overrides]") {
  Overrides o;
  ServerOverride v;
  v.address = "broker.example";
  CHECK(record(o, set("mqtt", "b1", v), files()).status == 200);
  CHECK(o.servers.at("mqtt/b1").address == "broker.example");
}

TEST_CASE("record of AddServer appends the server with 201", "[admin][overrides]") {
  Overrides o;
  const Outcome first = record(o, add("mqtt", "b3", 1887), files());
  CHECK(first.status == 201);
  CHECK(first.error.empty());
  const Outcome second = record(o, add("other", "o2", 1888), files());
  CHECK(second.status == 201);
  REQUIRE(o.added.size() == 2);
  CHECK(o.added[0] == AddedServer{"mqtt", file_server("b3", 1887)});
  CHECK(o.added[1] == AddedServer{"other", file_server("o2", 1888)});
  CHECK(o.servers.empty());
  CHECK(o.deleted.empty());
}

TEST_CASE("record of DelServer marks a file server deleted and drops its overrides",
          "[admin][overrides]") {
  Overrides o;
  ServerOverride v;
  v.weight = 9;
  REQUIRE(record(o, set("mqtt", "b1", v), files()).ok());
  const Outcome out = record(o, DelServer{"mqtt", "b1"}, files());
  CHECK(out.status == 200);
  CHECK(o.servers.empty());
  CHECK(o.deleted == std::set<std::string>{"mqtt/b1"});
}

TEST_CASE("record of DelServer of an added server takes it out of added, not into deleted",
          "[admin][overrides]") {
  Overrides o;
  REQUIRE(record(o, add("mqtt", "b3", 1887), files()).ok());
  std::vector<std::string> notes;
  conf::Config running = apply(files(), o, notes);
  ServerOverride v;
  v.weight = 4;
  REQUIRE(record(o, set("mqtt", "b3", v), running).ok());
  REQUIRE(o.servers.count("mqtt/b3") == 1);
  running = apply(files(), o, notes);

  CHECK(record(o, DelServer{"mqtt", "b3"}, running).status == 200);
  CHECK(o.added.empty());
  CHECK(o.deleted.empty());
  CHECK(o.servers.empty());
  CHECK(o.empty());
  CHECK(notes.empty());
}

TEST_CASE("a name deleted from the files may be added again at run time", "[admin][overrides]") {
  Overrides o;
  std::vector<std::string> notes;
  REQUIRE(record(o, DelServer{"mqtt", "b1"}, files()).ok());
  const conf::Config running = apply(files(), o, notes);
  REQUIRE(server(running, "mqtt", "b1") == nullptr);
  CHECK(record(o, add("mqtt", "b1", 1950), running).status == 201);
  const conf::Config again = apply(files(), o, notes);
  CHECK(names(again, "mqtt") == std::vector<std::string>{"b2", "b1"});
  CHECK(server(again, "mqtt", "b1")->port == 1950);
  CHECK(notes.empty());
}

struct Refusal {
  const char* what;
  Change change;
  int status;
  std::string field;
  std::string error;
};

TEST_CASE("record refuses bad changes with their status and field and changes nothing",
          "[admin][overrides]") {
  ServerOverride weight_257, bad_ip, port_0, empty_address, nothing;
  weight_257.weight = 257;
  bad_ip.address = "10.0.0.300";
  port_0.port = 0;
  empty_address.address = "";
  conf::Server slash = file_server("a/b", 1900);
  conf::Server space = file_server("a b", 1900);
  conf::Server unnamed = file_server("", 1900);
  conf::Server heavy = file_server("n1", 1900);
  heavy.weight = 300;
  conf::Server bad_address = file_server("n1", 1900);
  bad_address.address = "::1::2";
  conf::Server portless = file_server("n1", 0);

  const std::vector<Refusal> refusals = {
      {"set: unknown backend", set("nope", "b1", nothing), 404, "", "no backend 'nope'"},
      {"set: unknown server", set("mqtt", "zz", nothing), 404, "",
       "no server 'zz' in backend 'mqtt'"},
      {"set: weight 257", set("mqtt", "b1", weight_257), 400, "weight", "must be 0..256, got 257"},
      {"set: bad IP literal", set("mqtt", "b1", bad_ip), 400, "address",
       "is not a valid IP address: '10.0.0.300'"},
      {"set: empty address", set("mqtt", "b1", empty_address), 400, "address",
       "must be a non-empty string"},
      {"set: port 0", set("mqtt", "b1", port_0), 400, "port", "must be 1..65535, got 0"},
      {"add: unknown backend", add("nope", "n1", 1900), 404, "", "no backend 'nope'"},
      {"add: a name of the files", add("mqtt", "b1", 1900), 409, "name",
       "backend 'mqtt' already has a server 'b1'"},
      {"add: a name with /", AddServer{"mqtt", slash}, 400, "name",
       "may hold only letters, digits and - _ . :, got 'a/b'"},
      {"add: a name with a space", AddServer{"mqtt", space}, 400, "name",
       "may hold only letters, digits and - _ . :, got 'a b'"},
      {"add: no name", AddServer{"mqtt", unnamed}, 400, "name", "is required"},
      {"add: weight 300", AddServer{"mqtt", heavy}, 400, "weight", "must be 0..256, got 300"},
      {"add: bad IP literal", AddServer{"mqtt", bad_address}, 400, "address",
       "is not a valid IP address: '::1::2'"},
      {"add: port 0", AddServer{"mqtt", portless}, 400, "port", "must be 1..65535, got 0"},
      {"del: unknown backend", DelServer{"nope", "b1"}, 404, "", "no backend 'nope'"},
      {"del: unknown server", DelServer{"mqtt", "zz"}, 404, "", "no server 'zz' in backend 'mqtt'"},
      // A server is looked up in its own backend only.
      {"del: a server of another backend", DelServer{"other", "b1"}, 404, "",
       "no server 'b1' in backend 'other'"},
  };
  for (const Refusal& r : refusals) {
    INFO(r.what);
    Overrides o = some_overrides();
    const Outcome out = record(o, r.change, files());
    CHECK(out.status == r.status);
    CHECK_FALSE(out.ok());
    CHECK(out.field == r.field);
    CHECK(out.error == r.error);
    CHECK(o == some_overrides());
  }
}

TEST_CASE("record accepts the edges of weight and port", "[admin][overrides]") {
  Overrides o;
  ServerOverride v;
  v.weight = 0;
  v.port = 65535;
  CHECK(record(o, set("mqtt", "b1", v), files()).status == 200);
  v.weight = 256;
  v.port = 1;
  CHECK(record(o, set("mqtt", "b1", v), files()).status == 200);
  CHECK(o.servers.at("mqtt/b1") == v);
}

TEST_CASE("record of a name added twice is a 409 the second time", "[admin][overrides]") {
  Overrides o;
  std::vector<std::string> notes;
  REQUIRE(record(o, add("mqtt", "b3", 1887), files()).ok());
  const conf::Config running = apply(files(), o, notes);
  const Overrides before = o;
  const Outcome out = record(o, add("mqtt", "b3", 1999), running);
  CHECK(out.status == 409);
  CHECK(out.field == "name");
  CHECK(o == before);
}

TEST_CASE("clearing overrides leaves the others and removes an emptied entry",
          "[admin][overrides]") {
  Overrides o;
  ServerOverride all;
  all.admin = AdminState::Maint;
  all.weight = 5;
  all.address = "127.0.0.5";
  all.port = 1777;
  REQUIRE(record(o, set("mqtt", "b1", all), files()).ok());

  SetServer clear_admin{"mqtt", "b1", {}};
  clear_admin.patch.clear_admin = true;
  REQUIRE(record(o, clear_admin, files()).ok());
  ServerOverride left = all;
  left.admin.reset();
  CHECK(o.servers.at("mqtt/b1") == left);

  // The address clears with its port: they were set together.
  SetServer clear_address{"mqtt", "b1", {}};
  clear_address.patch.clear_address = true;
  REQUIRE(record(o, clear_address, files()).ok());
  ServerOverride weight_only;
  weight_only.weight = 5;
  CHECK(o.servers.at("mqtt/b1") == weight_only);

  SetServer clear_weight{"mqtt", "b1", {}};
  clear_weight.patch.clear_weight = true;
  CHECK(record(o, clear_weight, files()).status == 200);
  CHECK(o.servers.count("mqtt/b1") == 0);
  CHECK(o.empty());
}

TEST_CASE("a patch may clear one override and set another at once", "[admin][overrides]") {
  Overrides o;
  ServerOverride w;
  w.weight = 5;
  REQUIRE(record(o, set("mqtt", "b1", w), files()).ok());
  SetServer c{"mqtt", "b1", {}};
  c.patch.clear_weight = true;
  c.patch.set.admin = AdminState::Drain;
  REQUIRE(record(o, c, files()).ok());
  ServerOverride drain;
  drain.admin = AdminState::Drain;
  CHECK(o.servers.at("mqtt/b1") == drain);
}

TEST_CASE("clearing what was never set records no entry", "[admin][overrides]") {
  Overrides o;
  SetServer c{"mqtt", "b2", {}};
  c.patch.clear_admin = c.patch.clear_weight = c.patch.clear_address = true;
  CHECK(record(o, c, files()).status == 200);
  CHECK(o.empty());
}

// --- apply -------------------------------------------------------------------

TEST_CASE("apply with no overrides gives the files' servers", "[admin][overrides]") {
  Overrides o;
  std::vector<std::string> notes;
  const conf::Config c = apply(files(), o, notes);
  CHECK(names(c, "mqtt") == std::vector<std::string>{"b1", "b2"});
  CHECK(*server(c, "mqtt", "b2") == files().backends[0].servers[1]);
  CHECK(notes.empty());
  CHECK(o.empty());
}

TEST_CASE("apply turns the admin state into disabled and drain", "[admin][overrides]") {
  Overrides o;
  o.servers["mqtt/b1"].admin = AdminState::Maint;
  o.servers["other/o1"].admin = AdminState::Drain;
  // Ready wins over the file's `disabled`.
  o.servers["mqtt/b2"].admin = AdminState::Ready;
  std::vector<std::string> notes;
  const conf::Config c = apply(files(), o, notes);
  CHECK(server(c, "mqtt", "b1")->disabled);
  CHECK_FALSE(server(c, "mqtt", "b1")->drain);
  CHECK_FALSE(server(c, "other", "o1")->disabled);
  CHECK(server(c, "other", "o1")->drain);
  CHECK_FALSE(server(c, "mqtt", "b2")->disabled);
  CHECK_FALSE(server(c, "mqtt", "b2")->drain);
  CHECK(notes.empty());
  CHECK(o.servers.size() == 3);
}

TEST_CASE("apply of Drain over a file's disabled server takes it out of maintenance",
          "[admin][overrides]") {
  Overrides o;
  o.servers["mqtt/b2"].admin = AdminState::Drain;
  std::vector<std::string> notes;
  const conf::Config c = apply(files(), o, notes);
  CHECK_FALSE(server(c, "mqtt", "b2")->disabled);
  CHECK(server(c, "mqtt", "b2")->drain);
}

TEST_CASE("apply sets weight address and port and leaves the rest as the file has it",
          "[admin][overrides]") {
  Overrides o;
  o.servers["mqtt/b1"].weight = 40;
  o.servers["mqtt/b1"].address = "broker.example";
  o.servers["mqtt/b1"].port = 2883;
  std::vector<std::string> notes;
  const conf::Config c = apply(files(), o, notes);
  conf::Server want = file_server("b1", 2883);
  want.weight = 40;
  want.address = "broker.example";
  CHECK(*server(c, "mqtt", "b1") == want);
  CHECK(*server(c, "mqtt", "b2") == files().backends[0].servers[1]);
  CHECK(notes.empty());
}

TEST_CASE("apply removes deleted servers and appends added ones after the files'",
          "[admin][overrides]") {
  Overrides o;
  o.deleted.insert("mqtt/b1");
  o.added.push_back({"mqtt", file_server("n2", 1902)});
  o.added.push_back({"other", file_server("p1", 1903)});
  o.added.push_back({"mqtt", file_server("n1", 1901)});
  std::vector<std::string> notes;
  const conf::Config c = apply(files(), o, notes);
  CHECK(names(c, "mqtt") == std::vector<std::string>{"b2", "n2", "n1"});
  CHECK(names(c, "other") == std::vector<std::string>{"o1", "p1"});
  CHECK(*server(c, "mqtt", "n1") == file_server("n1", 1901));
  CHECK(notes.empty());
  CHECK(o.added.size() == 3);
  CHECK(o.deleted.size() == 1);
}

TEST_CASE("apply puts an override on a server added at run time", "[admin][overrides]") {
  Overrides o;
  o.added.push_back({"mqtt", file_server("n1", 1901)});
  o.servers["mqtt/n1"].admin = AdminState::Maint;
  o.servers["mqtt/n1"].weight = 0;
  std::vector<std::string> notes;
  const conf::Config c = apply(files(), o, notes);
  REQUIRE(server(c, "mqtt", "n1"));
  CHECK(server(c, "mqtt", "n1")->disabled);
  CHECK(server(c, "mqtt", "n1")->weight == 0);
  CHECK(notes.empty());
}

TEST_CASE("apply leaves the files' configuration itself alone", "[admin][overrides]") {
  const conf::Config f = files();
  Overrides o;
  o.servers["mqtt/b1"].weight = 40;
  o.deleted.insert("mqtt/b2");
  std::vector<std::string> notes;
  (void)apply(f, o, notes);
  CHECK(f.backends[0].servers.size() == 2);
  CHECK(f.backends[0].servers[0].weight == 1);
}

TEST_CASE("apply prunes what the files no longer have and says so", "[admin][overrides]") {
  // The files dropped b2 and backend "gone", and now define b3 themselves.
  conf::Config f = files();
  f.backends[0].servers.pop_back();
  f.backends[0].servers.push_back(file_server("b3", 1887));

  Overrides o;
  o.servers["mqtt/b2"].weight = 5;
  o.servers["mqtt/b2"].admin = AdminState::Drain;
  o.servers["gone/x"].port = 1999;
  o.servers["other/o1"].weight = 6;  // still applies
  o.added.push_back({"gone", file_server("n1", 1901)});
  o.added.push_back({"mqtt", file_server("b3", 1999)});
  o.added.push_back({"mqtt", file_server("n2", 1902)});  // still applies
  o.deleted.insert("mqtt/old");
  o.deleted.insert("mqtt/b1");  // still applies

  std::vector<std::string> notes;
  const conf::Config c = apply(f, o, notes);

  // Deleted first, then added, then the overrides, each in its own order.
  const std::vector<std::string> want = {
      "server 'mqtt/old', deleted at run time, is no longer in the files",
      "server 'gone/n1', added at run time, is dropped: the files no longer have backend 'gone'",
      "server 'mqtt/b3', added at run time, is now defined by the files, which win",
      "server 'gone/x' is no longer in the files: its run-time port 1999 is dropped",
      "server 'mqtt/b2' is no longer in the files: its run-time state drain, weight 5 is dropped",
  };
  CHECK(notes == want);

  Overrides kept;
  kept.servers["other/o1"].weight = 6;
  kept.added.push_back({"mqtt", file_server("n2", 1902)});
  kept.deleted.insert("mqtt/b1");
  CHECK(o == kept);

  CHECK(names(c, "mqtt") == std::vector<std::string>{"b3", "n2"});
  CHECK(server(c, "mqtt", "b3")->port == 1887);  // the files' b3
  CHECK(server(c, "other", "o1")->weight == 6);

  // Applied again, the pruned overrides give the same and say nothing.
  std::vector<std::string> again;
  const conf::Config c2 = apply(f, o, again);
  CHECK(again.empty());
  CHECK(names(c2, "mqtt") == names(c, "mqtt"));
  CHECK(o == kept);
}

// --- the state file ----------------------------------------------------------

Overrides rich_overrides() {
  Overrides o;
  ServerOverride& b1 = o.servers["mqtt/b1"];
  b1.admin = AdminState::Maint;
  b1.weight = 0;
  b1.address = "broker.example";
  b1.port = 2883;
  o.servers["other/o1"].admin = AdminState::Drain;
  o.servers["mqtt/n1"].weight = 256;
  conf::Server n1 = file_server("n1", 1901);
  n1.weight = 3;
  n1.maxconn = 50;
  n1.backup = true;
  n1.drain = true;
  n1.check.enabled = true;
  n1.check.inter = std::chrono::seconds(3);
  n1.check.rise = 4;
  o.added.push_back({"mqtt", n1});
  conf::Server p1 = file_server("p1", 1902);
  p1.address = "::1";
  p1.disabled = true;
  o.added.push_back({"other", p1});
  o.deleted.insert("mqtt/b2");
  o.deleted.insert("other/o9");
  return o;
}

std::optional<Overrides> read_back(const std::string& text, std::vector<conf::Error>& errors) {
  return from_state_json(text, "/var/lib/mqlb/state.json", files(), errors);
}

std::string listing(const std::vector<conf::Error>& errors) {
  std::string out;
  for (const auto& e : errors)
    out += "\n  " + e.to_string();
  return out;
}

TEST_CASE("the state file gives back the overrides it was written from", "[admin][overrides]") {
  const Overrides o = rich_overrides();
  const std::string text = to_state_json(o, files());
  std::vector<conf::Error> errors;
  const auto back = read_back(text, errors);
  INFO(text << listing(errors));
  CHECK(errors.empty());
  REQUIRE(back);
  CHECK(*back == o);
  // And the same text once more.
  CHECK(to_state_json(*back, files()) == text);
}

TEST_CASE("the state file of no overrides reads back as none", "[admin][overrides]") {
  const std::string text = to_state_json(Overrides{}, files());
  CHECK(Json::parse(text) ==
        Json::parse(R"({"mqlb_state": 1, "servers": {}, "added": [], "deleted": []})"));
  CHECK(text.back() == '\n');
  std::vector<conf::Error> errors;
  const auto back = read_back(text, errors);
  REQUIRE(back);
  CHECK(back->empty());
}

TEST_CASE("the state file writes overrides by name with only the fields set",
          "[admin][overrides]") {
  const Json doc = Json::parse(to_state_json(rich_overrides(), files()));
  CHECK(doc["mqlb_state"] == 1);
  CHECK(doc["servers"] == Json::parse(R"({
    "mqtt/b1": {"admin_state": "maint", "weight": 0, "address": "broker.example", "port": 2883},
    "mqtt/n1": {"weight": 256},
    "other/o1": {"admin_state": "drain"}})"));
  CHECK(doc["deleted"] == Json::parse(R"(["mqtt/b2", "other/o9"])"));
  REQUIRE(doc["added"].size() == 2);
  CHECK(doc["added"][0]["backend"] == "mqtt");
  CHECK(doc["added"][0]["server"]["name"] == "n1");
  CHECK(doc["added"][0]["server"]["drain"] == true);
  CHECK(doc["added"][0]["server"]["check"] == true);
  CHECK(doc["added"][0]["server"]["rise"] == 4);
  CHECK(doc["added"][1]["server"]["address"] == "::1");
  CHECK(doc["added"][1]["server"]["disabled"] == true);
}

TEST_CASE("a malformed state file is refused with an error naming the key", "[admin][overrides]") {
  const char* const kAdded = R"("name": "n1", "address": "127.0.0.1", "port": 1901)";
  auto added = [&](const std::string& extra) {
    return R"({"mqlb_state": 1, "added": [{"backend": "mqtt", "server": {)" + std::string(kAdded) +
           extra + "}}]}";
  };
  const std::vector<std::pair<std::string, std::pair<std::string, std::string>>> cases = {
      {"not json", {"", "not a JSON object (an mqlb state file)"}},
      {"", {"", "not a JSON object (an mqlb state file)"}},
      {"[1, 2]", {"", "not a JSON object (an mqlb state file)"}},
      {"\"mqlb_state\"", {"", "not a JSON object (an mqlb state file)"}},
      {R"({"mqlb_state": 1, "servres": {}})",
       {"servres", "unknown key (expected one of: mqlb_state, servers, added, deleted)"}},
      {R"({"mqlb_state": 2})", {"mqlb_state", "must be 1"}},
      {R"({"mqlb_state": "1"})", {"mqlb_state", "must be 1"}},
      {R"({"servers": {}})", {"mqlb_state", "must be 1"}},
      {R"({"mqlb_state": 1, "servers": []})", {"servers", "must be an object"}},
      {R"({"mqlb_state": 1, "servers": {"b1": {"weight": 1}}})",
       {"servers.b1", "must be named BACKEND/SERVER"}},
      {R"({"mqlb_state": 1, "servers": {"mqtt/b1": 5}})", {"servers.mqtt/b1", "must be an object"}},
      {R"({"mqlb_state": 1, "servers": {"mqtt/b1": {"admin_state": "up"}}})",
       {"servers.mqtt/b1.admin_state", "is not a valid admin_state, weight, address or port"}},
      {R"({"mqlb_state": 1, "servers": {"mqtt/b1": {"admin_state": 1}}})",
       {"servers.mqtt/b1.admin_state", "is not a valid"}},
      {R"({"mqlb_state": 1, "servers": {"mqtt/b1": {"weight": 257}}})",
       {"servers.mqtt/b1.weight", "is not a valid admin_state, weight, address or port: 257"}},
      {R"({"mqlb_state": 1, "servers": {"mqtt/b1": {"weight": -1}}})",
       {"servers.mqtt/b1.weight", "is not a valid"}},
      {R"({"mqlb_state": 1, "servers": {"mqtt/b1": {"weight": "5"}}})",
       {"servers.mqtt/b1.weight", "is not a valid"}},
      {R"({"mqlb_state": 1, "servers": {"mqtt/b1": {"port": 0}}})",
       {"servers.mqtt/b1.port", "is not a valid"}},
      {R"({"mqlb_state": 1, "servers": {"mqtt/b1": {"port": 65536}}})",
       {"servers.mqtt/b1.port", "is not a valid"}},
      {R"({"mqlb_state": 1, "servers": {"mqtt/b1": {"address": ""}}})",
       {"servers.mqtt/b1.address", "is not a valid"}},
      {R"({"mqlb_state": 1, "servers": {"mqtt/b1": {"maxconn": 5}}})",
       {"servers.mqtt/b1.maxconn", "is not a valid"}},
      {R"({"mqlb_state": 1, "added": {}})", {"added", "must be a list"}},
      {R"({"mqlb_state": 1, "added": [{"server": {}}]})",
       {"added[0]", "must be {\"backend\": NAME, \"server\": {...}}"}},
      {R"({"mqlb_state": 1, "added": [{"backend": "mqtt"}]})", {"added[0]", "must be {"}},
      {R"({"mqlb_state": 1, "added": [{"backend": 5, "server": {}}]})", {"added[0]", "must be {"}},
      {R"({"mqlb_state": 1, "added": ["mqtt/n1"]})", {"added[0]", "must be {"}},
      {added(R"(, "bogus": 1)"), {"added[0].server.bogus", "unknown key"}},
      {added(R"(, "weight": 257)"), {"added[0].server.weight", "must be 0..256, got 257"}},
      {R"({"mqlb_state": 1, "added": [{"backend": "mqtt", "server": {"name": "n1"}}]})",
       {"added[0].server.address", "is required"}},
      {R"({"mqlb_state": 1, "added": [{"backend": "mqtt", "server": 5}]})",
       {"added[0].server", "must be an object"}},
      {R"({"mqlb_state": 1, "deleted": "mqtt/b1"})", {"deleted", "must be a list"}},
      {R"({"mqlb_state": 1, "deleted": ["b1"]})", {"deleted[0]", "must be \"BACKEND/SERVER\""}},
      {R"({"mqlb_state": 1, "deleted": ["mqtt/b1", 5]})",
       {"deleted[1]", "must be \"BACKEND/SERVER\""}},
  };
  for (const auto& [text, want] : cases) {
    INFO("state file: " << text);
    std::vector<conf::Error> errors;
    const auto back = read_back(text, errors);
    INFO(listing(errors));
    CHECK_FALSE(back.has_value());
    const bool found = std::any_of(errors.begin(), errors.end(), [&](const conf::Error& e) {
      return e.file == "/var/lib/mqlb/state.json" && e.field == want.first &&
             e.message.compare(0, want.second.size(), want.second) == 0;
    });
    INFO("wanted: " << want.first << ": " << want.second << "...");
    CHECK(found);
  }
}

// record() is the check every Admin caller shares (the runtime socket's
// `add server` builds its conf::Server itself): whatever it accepts must
// read back from the state file, which reads with the loader's rule.
TEST_CASE("a server that record accepts reads back from the state file", "[admin][overrides]") {
  for (const char* name : {"b#1", "b,1", "b\"1", "b\n1", "caf\xc3\xa9"}) {
    INFO("name: " << name);
    Overrides o;
    if (!record(o, add("mqtt", name, 1901), files()).ok()) continue;
    std::vector<conf::Error> errors;
    const auto back = read_back(to_state_json(o, files()), errors);
    INFO(listing(errors));
    CHECK(back.has_value());
  }
}

TEST_CASE("a state file with several mistakes names each of them", "[admin][overrides]") {
  std::vector<conf::Error> errors;
  const auto back = read_back(
      R"({"mqlb_state": 1, "servers": {"b1": {}, "mqtt/b1": {"weight": 300, "port": 0}},
          "deleted": ["x"]})",
      errors);
  CHECK_FALSE(back.has_value());
  std::vector<std::string> fields;
  for (const auto& e : errors)
    fields.push_back(e.field);
  // In the order of the keys, which the parser sorts.
  CHECK(fields == std::vector<std::string>{"servers.b1", "servers.mqtt/b1.port",
                                           "servers.mqtt/b1.weight", "deleted[0]"});
}

TEST_CASE("errors of a state file leave the caller's earlier errors in place",
          "[admin][overrides]") {
  std::vector<conf::Error> errors{{"mqlb.json", 3, "x", "earlier"}};
  CHECK_FALSE(read_back(R"({"mqlb_state": 3})", errors).has_value());
  REQUIRE(errors.size() == 2);
  CHECK(errors[0].message == "earlier");
  CHECK(errors[1].field == "mqlb_state");
  // And a good file is a success even after earlier errors.
  CHECK(read_back(R"({"mqlb_state": 1})", errors).has_value());
  CHECK(errors.size() == 2);
}

TEST_CASE("a state file may leave out servers added and deleted", "[admin][overrides]") {
  std::vector<conf::Error> errors;
  const auto back = read_back(R"({"mqlb_state": 1, "deleted": ["mqtt/b2"]})", errors);
  INFO(listing(errors));
  REQUIRE(back);
  Overrides want;
  want.deleted.insert("mqtt/b2");
  CHECK(*back == want);
}

TEST_CASE("a state file's added server of a backend the files lack is read, pruned by apply",
          "[admin][overrides]") {
  std::vector<conf::Error> errors;
  auto back = read_back(
      R"({"mqlb_state": 1, "added": [{"backend": "gone",
          "server": {"name": "n1", "address": "127.0.0.1", "port": 1901}}]})",
      errors);
  INFO(listing(errors));
  REQUIRE(back);
  REQUIRE(back->added.size() == 1);
  CHECK(back->added[0] == AddedServer{"gone", file_server("n1", 1901)});
  std::vector<std::string> notes;
  (void)apply(files(), *back, notes);
  CHECK(back->added.empty());
  CHECK(notes.size() == 1);
}

}  // namespace
}  // namespace mqlb::lb::admin
