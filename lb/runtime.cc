#include "lb/runtime.h"

#include <netdb.h>

#include <cstring>
#include <random>

namespace mqlb::lb {
namespace {

bool resolve(const std::string& host, uint16_t port, sockaddr_storage& out, std::string& error) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res);
  if (rc != 0) {
    error = gai_strerror(rc);
    return false;
  }
  std::memcpy(&out, res->ai_addr, res->ai_addrlen);
  freeaddrinfo(res);
  return true;
}

uint64_t thread_random() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return rng();
}

}  // namespace

Backend::Backend(conf::Backend c) : conf(std::move(c)) {}

std::shared_ptr<const Backend::CachedPool> Backend::pool_for(
    const std::vector<balancer::Candidate>& candidates) const {
  auto cached = pool_.load(std::memory_order_acquire);
  bool same = cached && cached->usable.size() == candidates.size();
  for (size_t i = 0; same && i < candidates.size(); ++i)
    same = cached->usable[i] == candidates[i].usable;
  if (same) return cached;
  // The usable set changed (or first use): rebuild. Two workers may race
  // here; both build the same value, so the last store wins harmlessly.
  auto fresh = std::make_shared<CachedPool>();
  for (const auto& c : candidates)
    fresh->usable.push_back(c.usable);
  fresh->pool = balancer::build_pool(candidates, conf.balance, conf.allbackups);
  pool_.store(fresh, std::memory_order_release);
  return fresh;
}

const Server* Backend::acquire(uint32_t source_hash, const Server* exclude) const {
  // Candidates are read from atomics into a per-thread scratch vector, so a
  // pick allocates nothing once the thread has seen its largest backend.
  thread_local std::vector<balancer::Candidate> candidates;
  candidates.resize(servers.size());
  for (size_t i = 0; i < servers.size(); ++i) {
    const Server& s = *servers[i];
    candidates[i] = {s.conf.weight, s.active.load(std::memory_order_relaxed), s.conf.maxconn,
                     s.usable(), s.conf.backup};
  }
  auto cached = pool_for(candidates);
  std::optional<uint32_t> excluded;  // index of `exclude` once it was masked
  for (int attempt = 0; attempt < 8; ++attempt) {
    balancer::PickKey key{sequence_.fetch_add(1, std::memory_order_relaxed), source_hash,
                          thread_random()};
    auto chosen = balancer::pick(conf.balance, candidates, cached->pool, key);
    if (!chosen && excluded) {
      // Redispatch found nothing else: the excluded server beats no server.
      candidates[*excluded].usable = true;
      excluded.reset();
      exclude = nullptr;
      continue;
    }
    if (!chosen) return nullptr;
    const Server* s = servers[*chosen].get();
    if (s == exclude) {
      candidates[*chosen].usable = false;
      excluded = *chosen;
      continue;
    }
    // Take the slot; another worker may have taken the last one meanwhile.
    uint32_t now = s->active.fetch_add(1, std::memory_order_acq_rel);
    if (s->conf.maxconn == 0 || now < s->conf.maxconn) {
      s->total.fetch_add(1, std::memory_order_relaxed);
      active.fetch_add(1, std::memory_order_relaxed);
      return s;
    }
    s->active.fetch_sub(1, std::memory_order_acq_rel);
    candidates[*chosen].active = now;
  }
  return nullptr;
}

void Backend::release(const Server* s) const {
  s->active.fetch_sub(1, std::memory_order_acq_rel);
  active.fetch_sub(1, std::memory_order_relaxed);
}

bool Backend::has_usable_server() const {
  for (const auto& s : servers)
    if (s->usable()) return true;
  return false;
}

std::shared_ptr<Runtime> build_runtime(const conf::Config& config,
                                       std::vector<std::string>& errors) {
  auto rt = std::make_shared<Runtime>();
  rt->config = config;
  rt->maxconn = config.global.maxconn;
  for (const auto& gb : config.backends) {
    auto b = std::make_unique<Backend>(gb);
    for (const auto& gs : gb.servers) {
      auto s = std::make_unique<Server>();
      s->conf = gs;
      s->id = gb.name + "/" + gs.name;
      std::string why;
      if (!resolve(gs.address, gs.port, s->addr, why))
        errors.push_back("backend '" + gb.name + "', server '" + gs.name +
                         "': could not resolve address '" + gs.address + "': " + why);
      b->servers.push_back(std::move(s));
    }
    rt->backends.push_back(std::move(b));
  }
  auto open_sinks = [&](const std::vector<conf::LogTarget>& targets, LogSinks& out) {
    for (const auto& t : targets) {
      std::string why;
      auto sink = LogSink::open(t, why);
      if (sink)
        out.push_back(std::move(sink));
      else
        errors.push_back(why);
    }
  };
  open_sinks(config.global.log, rt->event_log);
  for (const auto& gf : config.frontends) {
    auto f = std::make_unique<Frontend>();
    f->conf = gf;
    for (const auto& b : rt->backends)
      if (b->conf.name == gf.default_backend) f->backend = b.get();
    open_sinks(gf.log, f->log);
    rt->frontends.push_back(std::move(f));
  }
  return rt;
}

}  // namespace mqlb::lb
