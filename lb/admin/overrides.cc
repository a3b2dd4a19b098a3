// Pure.
#include "lb/admin/overrides.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "conf/json_dump.h"
#include "conf/json_loader.h"
#include "conf/names.h"

namespace mqlb::lb::admin {
namespace {

using Json = nlohmann::ordered_json;

std::string server_id(const std::string& backend, const std::string& server) {
  return backend + "/" + server;
}

conf::Server* find(conf::Backend& b, const std::string& name) {
  for (auto& s : b.servers)
    if (s.name == name) return &s;
  return nullptr;
}

const conf::Server* find(const conf::Backend& b, const std::string& name) {
  return find(const_cast<conf::Backend&>(b), name);
}

void put(conf::Server& s, const ServerOverride& o) {
  if (o.admin) {
    s.disabled = *o.admin == AdminState::Maint;
    s.drain = *o.admin == AdminState::Drain;
  }
  if (o.weight) s.weight = *o.weight;
  if (o.address) s.address = *o.address;
  if (o.port) s.port = *o.port;
}

std::string describe(const ServerOverride& o) {
  std::string d;
  auto add = [&](const std::string& part) { d += (d.empty() ? "" : ", ") + part; };
  if (o.admin) add("state " + std::string(admin_name(*o.admin)));
  if (o.weight) add("weight " + std::to_string(*o.weight));
  if (o.address) add("address " + *o.address);
  if (o.port) add("port " + std::to_string(*o.port));
  return d;
}

Outcome check_values(const ServerOverride& o) {
  if (o.weight && *o.weight > 256)
    return Outcome::bad("weight", "must be 0..256, got " + std::to_string(*o.weight));
  if (o.address) {
    if (o.address->empty()) return Outcome::bad("address", "must be a non-empty string");
    if (conf::looks_like_ip(*o.address) && !conf::is_ip_literal(*o.address))
      return Outcome::bad("address", "is not a valid IP address: '" + *o.address + "'");
  }
  if (o.port && *o.port == 0) return Outcome::bad("port", "must be 1..65535, got 0");
  return {};
}

Outcome record_set(Overrides& o, const SetServer& c, const conf::Config& running) {
  const conf::Backend* b = running.find_backend(c.backend);
  if (!b) return Outcome::not_found("no backend '" + c.backend + "'");
  if (!find(*b, c.server))
    return Outcome::not_found("no server '" + c.server + "' in backend '" + c.backend + "'");
  if (Outcome bad = check_values(c.patch.set); !bad.ok()) return bad;
  ServerOverride& s = o.servers[server_id(c.backend, c.server)];
  if (c.patch.clear_admin) s.admin.reset();
  if (c.patch.clear_weight) s.weight.reset();
  if (c.patch.clear_address) s.address.reset(), s.port.reset();
  const ServerOverride& set = c.patch.set;
  if (set.admin) s.admin = set.admin;
  if (set.weight) s.weight = set.weight;
  if (set.address) s.address = set.address;
  if (set.port) s.port = set.port;
  if (s.empty()) o.servers.erase(server_id(c.backend, c.server));
  return {};
}

Outcome record_add(Overrides& o, const AddServer& c, const conf::Config& running) {
  const conf::Backend* b = running.find_backend(c.backend);
  if (!b) return Outcome::not_found("no backend '" + c.backend + "'");
  const conf::Server& s = c.server;
  if (s.name.empty()) return Outcome::bad("name", "is required");
  if (!conf::is_valid_name(s.name))
    return Outcome::bad("name", "may hold only letters, digits and - _ . :, got '" + s.name + "'");
  if (s.maxconn > 10'000'000)
    return Outcome::bad("maxconn", "must be 0..10000000, got " + std::to_string(s.maxconn));
  if (find(*b, s.name))
    return {409, "backend '" + c.backend + "' already has a server '" + s.name + "'", "name"};
  ServerOverride values;
  values.weight = s.weight;
  values.address = s.address;
  values.port = s.port;
  if (Outcome bad = check_values(values); !bad.ok()) return bad;
  o.added.push_back({c.backend, s});
  return {201, {}, {}};
}

Outcome record_del(Overrides& o, const DelServer& c, const conf::Config& running) {
  const conf::Backend* b = running.find_backend(c.backend);
  if (!b) return Outcome::not_found("no backend '" + c.backend + "'");
  if (!find(*b, c.server))
    return Outcome::not_found("no server '" + c.server + "' in backend '" + c.backend + "'");
  const std::string id = server_id(c.backend, c.server);
  o.servers.erase(id);
  const auto added = std::find_if(o.added.begin(), o.added.end(), [&](const AddedServer& a) {
    return a.backend == c.backend && a.server.name == c.server;
  });
  if (added != o.added.end())
    o.added.erase(added);
  else
    o.deleted.insert(id);
  return {};
}

}  // namespace

conf::Config apply(const conf::Config& files, Overrides& o, std::vector<std::string>& notes) {
  conf::Config c = files;
  std::erase_if(o.deleted, [&](const std::string& id) {
    const size_t slash = id.find('/');
    conf::Backend* b = const_cast<conf::Backend*>(c.find_backend(id.substr(0, slash)));
    conf::Server* s = b ? find(*b, id.substr(slash + 1)) : nullptr;
    if (!s) {
      notes.push_back("server '" + id + "', deleted at run time, is no longer in the files");
      return true;
    }
    b->servers.erase(b->servers.begin() + (s - b->servers.data()));
    return false;
  });
  std::erase_if(o.added, [&](const AddedServer& a) {
    conf::Backend* b = const_cast<conf::Backend*>(c.find_backend(a.backend));
    const std::string id = server_id(a.backend, a.server.name);
    if (!b) {
      notes.push_back("server '" + id + "', added at run time, is dropped: the files no longer " +
                      "have backend '" + a.backend + "'");
      return true;
    }
    if (find(*b, a.server.name)) {
      notes.push_back("server '" + id + "', added at run time, is now defined by the files, " +
                      "which win");
      return true;
    }
    b->servers.push_back(a.server);
    return false;
  });
  std::erase_if(o.servers, [&](const auto& entry) {
    const std::string& id = entry.first;
    const size_t slash = id.find('/');
    conf::Backend* b = const_cast<conf::Backend*>(c.find_backend(id.substr(0, slash)));
    conf::Server* s = b ? find(*b, id.substr(slash + 1)) : nullptr;
    if (!s) {
      notes.push_back("server '" + id + "' is no longer in the files: its run-time " +
                      describe(entry.second) + " is dropped");
      return true;
    }
    put(*s, entry.second);
    return false;
  });
  return c;
}

Outcome record(Overrides& o, const Change& c, const conf::Config& running) {
  Overrides next = o;
  Outcome out = std::visit(
      [&](const auto& change) {
        using T = std::decay_t<decltype(change)>;
        if constexpr (std::is_same_v<T, SetServer>)
          return record_set(next, change, running);
        else if constexpr (std::is_same_v<T, AddServer>)
          return record_add(next, change, running);
        else
          return record_del(next, change, running);
      },
      c);
  if (out.ok()) o = std::move(next);
  return out;
}

std::string to_state_json(const Overrides& o, const conf::Config& running) {
  Json doc;
  doc["mqlb_state"] = 1;
  Json servers = Json::object();
  for (const auto& [id, s] : o.servers) {
    Json one = Json::object();
    if (s.admin) one["admin_state"] = admin_name(*s.admin);
    if (s.weight) one["weight"] = *s.weight;
    if (s.address) one["address"] = *s.address;
    if (s.port) one["port"] = *s.port;
    servers[id] = std::move(one);
  }
  doc["servers"] = std::move(servers);
  Json added = Json::array();
  for (const AddedServer& a : o.added) {
    const conf::Backend* b = running.find_backend(a.backend);
    added.push_back({{"backend", a.backend},
                     {"server", conf::to_json(a.server, b ? b->check : conf::BackendCheck{})}});
  }
  doc["added"] = std::move(added);
  doc["deleted"] = Json(std::vector<std::string>(o.deleted.begin(), o.deleted.end()));
  return doc.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

std::optional<Overrides> from_state_json(std::string_view text, const std::string& file,
                                         const conf::Config& files,
                                         std::vector<conf::Error>& errors) {
  const size_t before = errors.size();
  auto fail = [&](const std::string& field, const std::string& message) {
    errors.push_back({file, 0, field, message});
  };
  const nlohmann::json doc = nlohmann::json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    fail("", "not a JSON object (an mqlb state file)");
    return std::nullopt;
  }
  for (const auto& item : doc.items())
    if (item.key() != "mqlb_state" && item.key() != "servers" && item.key() != "added" &&
        item.key() != "deleted")
      fail(item.key(), "unknown key (expected one of: mqlb_state, servers, added, deleted)");
  if (doc.value("mqlb_state", nlohmann::json()) != 1) fail("mqlb_state", "must be 1");
  Overrides o;
  const auto& servers = doc.value("servers", nlohmann::json::object());
  if (!servers.is_object()) fail("servers", "must be an object");
  for (auto it = servers.begin(); servers.is_object() && it != servers.end(); ++it) {
    const std::string& id = it.key();
    const nlohmann::json& v = it.value();
    const std::string path = "servers." + id;
    if (id.find('/') == std::string::npos) fail(path, "must be named BACKEND/SERVER");
    if (!v.is_object()) {
      fail(path, "must be an object");
      continue;
    }
    ServerOverride s;
    for (const auto& item : v.items()) {
      const std::string& key = item.key();
      const auto& x = item.value();
      if (key == "admin_state" && x.is_string() && parse_admin(x.get<std::string>()))
        s.admin = parse_admin(x.get<std::string>());
      else if (key == "weight" && x.is_number_unsigned() && x.get<uint64_t>() <= 256)
        s.weight = x.get<uint32_t>();
      else if (key == "address" && x.is_string() && !x.get<std::string>().empty())
        s.address = x.get<std::string>();
      else if (key == "port" && x.is_number_unsigned() && x.get<uint64_t>() >= 1 &&
               x.get<uint64_t>() <= 65535)
        s.port = x.get<uint16_t>();
      else
        fail(path + "." + key, "is not a valid admin_state, weight, address or port: " + x.dump());
    }
    o.servers[id] = s;
  }
  const auto& added = doc.value("added", nlohmann::json::array());
  if (!added.is_array()) fail("added", "must be a list");
  for (size_t i = 0; added.is_array() && i < added.size(); ++i) {
    const std::string path = "added[" + std::to_string(i) + "]";
    const auto& a = added[i];
    if (!a.is_object() || !a.contains("backend") || !a["backend"].is_string() ||
        !a.contains("server")) {
      fail(path, "must be {\"backend\": NAME, \"server\": {...}}");
      continue;
    }
    const conf::Backend* b = files.find_backend(a["backend"].get<std::string>());
    std::vector<conf::Error> server_errors;
    auto s =
        conf::load_json_server(a["server"], b ? b->check : conf::BackendCheck{}, server_errors);
    for (const auto& e : server_errors)
      fail(path + ".server" + (e.field.empty() ? "" : "." + e.field), e.message);
    if (!s) continue;
    const std::string backend = a["backend"].get<std::string>();
    if (std::any_of(o.added.begin(), o.added.end(), [&](const AddedServer& x) {
          return x.backend == backend && x.server.name == s->name;
        }))
      fail(path + ".server.name", "'" + backend + "/" + s->name + "' is added twice");
    else
      o.added.push_back({backend, std::move(*s)});
  }
  const auto& deleted = doc.value("deleted", nlohmann::json::array());
  if (!deleted.is_array()) fail("deleted", "must be a list");
  for (size_t i = 0; deleted.is_array() && i < deleted.size(); ++i) {
    if (deleted[i].is_string() && deleted[i].get<std::string>().find('/') != std::string::npos)
      o.deleted.insert(deleted[i].get<std::string>());
    else
      fail("deleted[" + std::to_string(i) + "]", "must be \"BACKEND/SERVER\"");
  }
  if (errors.size() != before) return std::nullopt;
  return o;
}

}  // namespace mqlb::lb::admin
