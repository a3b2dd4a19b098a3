#include "lb/runtime.h"

#include "conf/names.h"

#include <unistd.h>

#include <arpa/inet.h>
#include <netdb.h>

#include <cstring>
#include <random>

namespace mqlb::lb {
namespace {

// The host's first address of family `prefer`, else its first address
// (getaddrinfo's order, which follows /etc/gai.conf).
bool resolve(const std::string& host, uint16_t port, sockaddr_storage& out, std::string& error,
             int prefer = AF_INET) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res);
  if (rc != 0) {
    error = gai_strerror(rc);
    return false;
  }
  const addrinfo* chosen = res;
  for (const addrinfo* a = res; a; a = a->ai_next)
    if (a->ai_family == prefer) {
      chosen = a;
      break;
    }
  std::memcpy(&out, chosen->ai_addr, chosen->ai_addrlen);
  freeaddrinfo(res);
  return true;
}

enum class Resolved { Yes, No, Maintenance };

// A server's address by its init-addr methods, in order (HAProxy 2.6
// srv_iterate_initaddr): libc asks the resolver, an IP is used as is,
// "last" (the address a server-state-file kept) has nothing to offer yet,
// "none" gives up and lets the server start in maintenance.
Resolved resolve_server(const conf::Server& s, sockaddr_storage& out, std::string& error) {
  const int prefer = s.resolve.prefer == conf::ServerResolve::Family::Ipv6 ? AF_INET6 : AF_INET;
  std::string why;
  if (conf::is_ip_literal(s.address)) {
    if (resolve(s.address, s.port, out, error)) return Resolved::Yes;
    return Resolved::No;
  }
  for (const auto& step : s.resolve.init_addr) {
    switch (step.method) {
      case conf::ServerResolve::Method::Libc:
        if (resolve(s.address, s.port, out, why, prefer)) return Resolved::Yes;
        error = why;
        break;
      case conf::ServerResolve::Method::Ip:
        if (resolve(step.ip, s.port, out, why, prefer)) return Resolved::Yes;
        break;
      case conf::ServerResolve::Method::Last:
        break;
      case conf::ServerResolve::Method::None:
        return Resolved::Maintenance;
    }
  }
  if (error.empty()) error = "no init-addr method gave an address";
  return Resolved::No;
}

uint64_t thread_random() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return rng();
}

// The configured weight, admin state and limit become the live ones.
void apply_to_state(const Runtime& rt) {
  for (const auto& b : rt.backends) {
    for (const auto& s : b->servers) {
      ServerState& st = *s->state;
      st.maxconn.store(s->conf.maxconn, std::memory_order_relaxed);
      if (st.weight() != s->conf.weight) st.set_weight(s->conf.weight);
      AdminState admin = s->conf.disabled || s->unresolved ? AdminState::Maint
                         : s->conf.drain                   ? AdminState::Drain
                                                           : AdminState::Ready;
      if (st.admin() != admin) st.set_admin(admin);
    }
  }
}

// "frontends[2]": where `item` of `list` is in the JSON document, as the
// loader's errors name it.
template <typename T>
std::string json_path(const std::vector<T>& list, const T& item, const char* name) {
  return std::string(name) + "[" + std::to_string(&item - list.data()) + "]";
}

// "parsing [haproxy.cfg:9] : " for what the configuration wrote at a line
// (conf::Config::origins: "backend/server", "frontend/bind[0]",
// "backend/tcp-check[2]"), as mqlb -c prints the loader's own errors; empty
// when the format has no lines (JSON names paths instead).
std::string at_line(const conf::Config& config, const std::string& key) {
  const auto it = config.origins.find(key);
  if (it == config.origins.end()) return {};
  return "parsing [" + it->second.file + ":" + std::to_string(it->second.line) + "] : ";
}

// A TLS error names the certificate file it is about, or else the config
// file, like the loader's errors; with the line of the bind or server that
// asked for it when there is one.
void add_tls_errors(const conf::Config& config, std::vector<conf::Error>& tls_errors,
                    std::vector<std::string>& errors, const std::string& origin = {}) {
  const std::string line = at_line(config, origin);
  for (auto& e : tls_errors) {
    if (!line.empty()) {
      errors.push_back(line + (e.file.empty() ? "" : "'" + e.file + "': ") + e.message);
      continue;
    }
    if (e.file.empty()) e.file = config.file;
    errors.push_back(e.to_string());
  }
}

// The health check rules of a server with "check", and the address its
// checks connect to.
void build_check_rules(const conf::Config& config, const conf::Backend& gb, const conf::Server& gs,
                       Server& s, std::vector<std::string>& errors) {
  const std::string where = config.file + ": " + json_path(config.backends, gb, "backends");
  const uint16_t port = gs.check.port ? gs.check.port : gs.port;
  if (gs.check.addr.empty()) {
    // The server's own address, as resolved (check-addr is an IP literal).
    s.check_addr = s.addr;
    set_port(s.check_addr, port);
  } else if (std::string why; !resolve(gs.check.addr, port, s.check_addr, why)) {
    errors.push_back("backend '" + gb.name + "', server '" + gs.name +
                     "': could not resolve the check address '" + gs.check.addr + "': " + why);
  }
  switch (gb.check.type) {
    case conf::BackendCheck::Type::Tcp:
      s.check = std::make_shared<health::Ruleset>(health::tcp_rules());
      return;
    case conf::BackendCheck::Type::Mqtt: {
      health::ConnectPacket connect;
      connect.protocol = gb.check.protocol;
      // One client id per server and process: two balancers (a VRRP pair)
      // checking one broker do not take over each other's check session.
      connect.client_id = gb.check.client_id + "-" + std::to_string(::getpid()) + "-" + gs.name;
      if (!gb.check.username.empty()) connect.username = gb.check.username;
      if (!gb.check.password.empty()) connect.password = gb.check.password;
      s.check = std::make_shared<health::Ruleset>(health::mqtt_rules(connect));
      return;
    }
    case conf::BackendCheck::Type::TcpCheck: {
      auto parsed = health::parse_rules(gb.check.tcp_check);
      if (auto* problems = std::get_if<std::vector<std::string>>(&parsed)) {
        for (const auto& p : *problems) {
          // "tcp-check[1] 'send-binary ...': ..." names the rule by its index.
          const std::string index = p.substr(0, p.find(']') + 1);
          const std::string line = at_line(config, gb.name + "/" + index);
          errors.push_back(line.empty() ? where + ".check." + p : line + p);
        }
        return;
      }
      s.check = std::make_shared<health::Ruleset>(
          health::tcp_check_rules(std::get<std::vector<health::Rule>>(std::move(parsed))));
      return;
    }
  }
}

// True when some connect of the rule set is over TLS (check-ssl, or
// `tcp-check connect ssl`).
bool checks_over_tls(const health::Ruleset& rules, bool check_ssl) {
  for (const auto& rule : rules.rules)
    if (const auto* c = std::get_if<health::ConnectRule>(&rule.what))
      if (c->ssl || (check_ssl && c->implicit)) return true;
  return false;
}

void build_check(const conf::Config& config, const conf::Backend& gb, const conf::Server& gs,
                 Server& s, std::vector<std::string>& errors) {
  build_check_rules(config, gb, gs, s, errors);
  if (!s.check || !checks_over_tls(*s.check, gs.check.ssl)) return;
  // Checks over TLS use the server's TLS settings, whether or not its
  // traffic is TLS too (HAProxy's check-ssl).
  if (s.tls) {
    s.check_tls = s.tls;
    return;
  }
  std::vector<conf::Error> tls_errors;
  s.check_tls = tls::ClientContext::build(
      gs.tls, json_path(config.backends, gb, "backends") + json_path(gb.servers, gs, ".servers"),
      tls_errors);
  add_tls_errors(config, tls_errors, errors);
}

}  // namespace

Backend::Backend(conf::Backend c, std::shared_ptr<BackendState> st, unsigned workers)
    : conf(std::move(c)), state(std::move(st)), caches_(std::make_unique<PickCache[]>(workers)) {}

Backend::Pick Backend::acquire(unsigned worker, uint32_t source_hash, const Server* exclude) const {
  PickCache& cache = caches_[worker];
  auto& candidates = cache.candidates;
  const uint64_t generation = state->generation.load(std::memory_order_acquire);
  // A source pick stays on its server even when that server is full: the
  // session then waits in that server's queue (HAProxy does the same).
  const bool pin = conf.balance == conf::Balance::Source && !exclude;
  candidates.resize(servers.size());
  for (size_t i = 0; i < servers.size(); ++i) {
    const ServerState& s = *servers[i]->state;
    candidates[i] = {s.weight(), s.active.get(),          pin ? 0 : servers[i]->conf.maxconn,
                     s.usable(), servers[i]->conf.backup, servers[i]->ring_id};
  }
  if (cache.generation != generation) {
    cache.pool = balancer::build_pool(candidates, conf.balance, conf.allbackups, conf.hash_type);
    cache.generation = generation;
  }
  std::optional<uint32_t> excluded;  // index of `exclude` once it was masked
  for (int attempt = 0; attempt < 8; ++attempt) {
    balancer::PickKey key{state->next_sequence(), source_hash, thread_random()};
    auto chosen = balancer::pick(conf.balance, candidates, cache.pool, key);
    if (!chosen && excluded) {
      // Redispatch found nothing else: the excluded server beats no server.
      candidates[*excluded].usable = true;
      excluded.reset();
      exclude = nullptr;
      continue;
    }
    if (!chosen) return {};
    const Server* s = servers[*chosen].get();
    if (s == exclude) {
      candidates[*chosen].usable = false;
      excluded = *chosen;
      continue;
    }
    if (s->state->try_take()) {
      state->active.take();
      return {s, nullptr};
    }
    if (pin) return {nullptr, s};
    // Another worker took the last slot meanwhile: that server is full.
    candidates[*chosen].active = candidates[*chosen].maxconn;
  }
  return {};
}

void Backend::release(const Server* s) const {
  state->active.give();
  s->state->release();
}

const Server* Backend::find(const ServerState* st) const {
  for (const auto& s : servers)
    if (s->state.get() == st) return s.get();
  return nullptr;
}

bool Backend::has_usable_server() const {
  for (const auto& s : servers)
    if (s->state->usable()) return true;
  return false;
}

void set_port(sockaddr_storage& addr, uint16_t port) {
  if (addr.ss_family == AF_INET6)
    reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port = htons(port);
  else
    reinterpret_cast<sockaddr_in*>(&addr)->sin_port = htons(port);
}

FrontendSums frontend_sums(const Runtime& rt) {
  FrontendSums out;
  for (const auto& f : rt.frontends) {
    const PerWorker<Totals>& t = f->state->totals;
    out.connections += t.sum(&Totals::sessions) + t.sum(&Totals::denied);
    out.bytes_out += t.sum(&Totals::bytes_out);
  }
  return out;
}

uint64_t descriptor_reserve(const Runtime& rt) {
  size_t binds = 0;
  for (const auto& f : rt.frontends)
    binds += f->binds.size();
  // Stdio, per worker its listeners, epoll, async pipe, the worker's own
  // epoll set and the accept reserve; log sockets; health checks in flight
  // (one each); and some slack.
  uint64_t reserve = 3 + rt.workers * (binds + 6) + rt.event_log.size() + 16;
  for (const auto& f : rt.frontends)
    reserve += f->log.size();
  for (const auto& b : rt.backends)
    for (const auto& s : b->servers)
      if (s->check) ++reserve;
  // The admin endpoints: civetweb's listener, wake-up pipes and the
  // connections its two threads serve; the runtime sockets and a client each.
  size_t http = rt.config.global.admin.enabled ? 1 : 0;
  for (const auto& a : rt.config.admin_http)
    http += a.binds.size();
  reserve += 8 * http + 4 * rt.config.global.stats_sockets.size();
  return reserve;
}

std::shared_ptr<Runtime> build_runtime(const conf::Config& config, StateRegistry& registry,
                                       std::vector<std::string>& errors) {
  auto rt = std::make_shared<Runtime>();
  rt->config = config;
  rt->maxconn = config.global.maxconn;
  rt->workers = registry.workers();
  rt->process = registry.process();
  const size_t errors_before = errors.size();
  for (const auto& gb : config.backends) {
    auto b = std::make_unique<Backend>(gb, registry.backend(gb.name), rt->workers);
    for (const auto& gs : gb.servers) {
      auto s = std::make_unique<Server>();
      s->conf = gs;
      s->id = gb.name + "/" + gs.name;
      s->ring_id = balancer::hash_address(
          {reinterpret_cast<const uint8_t*>(gs.name.data()), gs.name.size()});
      s->state = registry.server(b->state, gs.name, gs.address + ":" + std::to_string(gs.port));
      std::string why;
      const auto origin = config.origins.find(s->id);
      // "parsing [haproxy.cfg:10] : 'server mqtt/b1' : ..." when the server has a line.
      const std::string who = origin == config.origins.end()
                                  ? "backend '" + gb.name + "', server '" + gs.name + "'"
                                  : at_line(config, s->id) + "'server " + s->id + "'";
      switch (resolve_server(gs, s->addr, why)) {
        case Resolved::Yes:
          break;
        case Resolved::No:
          errors.push_back(who + " : could not resolve address '" + gs.address + "' (" + why +
                           ").");
          break;
        case Resolved::Maintenance:
          s->unresolved = true;
          rt->warnings.push_back(who + " : could not resolve address '" + gs.address +
                                 "', starting in maintenance (init-addr none).");
          break;
      }
      if (gs.tls.enabled) {
        std::vector<conf::Error> tls_errors;
        s->tls = tls::ClientContext::build(
            gs.tls,
            json_path(config.backends, gb, "backends") + json_path(gb.servers, gs, ".servers"),
            tls_errors);
        add_tls_errors(config, tls_errors, errors);
      }
      // A server without an address has nothing to check.
      if (gs.check.enabled && s->addr.ss_family != AF_UNSPEC)
        build_check(config, gb, gs, *s, errors);
      b->servers.push_back(std::move(s));
    }
    rt->backends.push_back(std::move(b));
  }
  auto open_sinks = [&](const std::vector<conf::LogTarget>& targets, std::string_view tag,
                        LogSinks& out) {
    for (const auto& t : targets) {
      std::string why;
      auto sink = LogSink::open(t, tag, config.global.log_send_hostname, why);
      if (sink)
        out.push_back(std::move(sink));
      else
        errors.push_back(why);
    }
  };
  open_sinks(config.global.log, config.global.log_tag, rt->event_log);
  for (const auto& gf : config.frontends) {
    auto f = std::make_unique<Frontend>();
    f->conf = gf;
    f->state = registry.frontend(gf.name);
    f->tls_name = gf.name + "~";
    for (size_t i = 0; i < gf.binds.size(); ++i) {
      Bind b{gf.binds[i], nullptr};
      if (b.conf.tls.enabled) {
        std::vector<conf::Error> tls_errors;
        b.tls = tls::ServerContext::build(
            b.conf.tls,
            json_path(config.frontends, gf, "frontends") + ".bind[" + std::to_string(i) + "]",
            registry.ticket_keys(), tls_errors);
        add_tls_errors(config, tls_errors, errors, gf.name + "/bind[" + std::to_string(i) + "]");
      }
      f->binds.push_back(std::move(b));
    }
    for (const auto& b : rt->backends)
      if (b->conf.name == gf.default_backend) f->backend = b.get();
    for (const auto& rule : f->conf.use_backend)
      for (const auto& b : rt->backends)
        if (b->conf.name == rule.backend) f->routes.push_back({&rule, b.get()});
    open_sinks(gf.log, gf.log_tag.empty() ? config.global.log_tag : gf.log_tag, f->log);
    rt->frontends.push_back(std::move(f));
  }
  if (errors.size() == errors_before) apply_to_state(*rt);
  return rt;
}

}  // namespace mqlb::lb
