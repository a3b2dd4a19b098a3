#include "lb/state.h"

#include <utility>

#include "tls/ticket_keys.h"

namespace mqlb::lb {

void WaitQueue::insert_after(Waiter* after, Waiter* w) {
  w->prev = after;
  w->next = after ? after->next : head_;
  (w->next ? w->next->prev : tail_) = w;
  (after ? after->next : head_) = w;
  w->queued = true;
  w->queue_idx = served_;
  const uint32_t n = size_.fetch_add(1, std::memory_order_relaxed) + 1;
  if (n > peak_.load(std::memory_order_relaxed)) peak_.store(n, std::memory_order_relaxed);
}

void WaitQueue::insert_by_ticket(Waiter* w) {
  Waiter* after = tail_;
  while (after && after->ticket > w->ticket)
    after = after->prev;
  insert_after(after, w);
}

void WaitQueue::push_back(Waiter* w) {
  insert_after(tail_, w);
}

void WaitQueue::remove(Waiter* w, bool served) {
  w->processed_before = static_cast<uint32_t>(served_ - w->queue_idx);
  if (served) ++served_;
  if (w->prev)
    w->prev->next = w->next;
  else
    head_ = w->next;
  if (w->next)
    w->next->prev = w->prev;
  else
    tail_ = w->prev;
  w->prev = w->next = nullptr;
  w->queued = false;
  size_.fetch_sub(1, std::memory_order_relaxed);
}

ServerState::ServerState(std::shared_ptr<BackendState> b, std::string id, std::string address,
                         unsigned workers)
    : backend_owner_(std::move(b)),
      backend(*backend_owner_),
      id(std::move(id)),
      address(std::move(address)),
      totals(workers) {}

void ServerState::set_check_view(const health::ServerHealthView& v) {
  std::lock_guard lock(view_mutex_);
  view_ = v;
}

health::ServerHealthView ServerState::check_view() const {
  std::lock_guard lock(view_mutex_);
  return view_;
}

void TrafficErrors::attach(uv_async_t* wake) {
  std::lock_guard lock(mutex_);
  wake_ = wake;
}

void TrafficErrors::report(std::shared_ptr<ServerState> server) {
  std::lock_guard lock(mutex_);
  if (!wake_) return;  // no checks running: nothing would read it
  pending_.push_back(std::move(server));
  uv_async_send(wake_);
}

std::vector<std::shared_ptr<ServerState>> TrafficErrors::take() {
  std::lock_guard lock(mutex_);
  return std::exchange(pending_, {});
}

void ServerState::set_health(Health h) {
  health_.store(h, std::memory_order_release);
  backend.generation.fetch_add(1, std::memory_order_acq_rel);
}

void ServerState::set_admin(AdminState a) {
  admin_.store(a, std::memory_order_release);
  backend.generation.fetch_add(1, std::memory_order_acq_rel);
}

void ServerState::set_weight(uint32_t w) {
  weight_.store(w, std::memory_order_release);
  backend.generation.fetch_add(1, std::memory_order_acq_rel);
}

void ServerState::release() {
  active.give();
  // Pairs with the fence a waiter issues after joining a queue: either the
  // waiter's retry sees this free slot, or this load sees the waiter.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (queue.size_atomic().load(std::memory_order_relaxed) +
          backend.queue.size_atomic().load(std::memory_order_relaxed) !=
      0)
    backend.dispatch(*this);
}

BackendState::BackendState(std::string name, unsigned workers)
    : name(std::move(name)), totals(workers), connect_time(workers) {}

uint32_t BackendState::queued() const {
  return waiting_.load(std::memory_order_relaxed);
}

void BackendState::enqueue(Waiter* w) {
  std::lock_guard lock(queue_mutex);
  w->granted = nullptr;
  w->ticket = next_ticket_++;
  (w->server ? w->server->queue : queue).push_back(w);
  const uint32_t n = waiting_.fetch_add(1, std::memory_order_relaxed) + 1;
  if (n > waiting_peak_.load(std::memory_order_relaxed))
    waiting_peak_.store(n, std::memory_order_relaxed);
}

ServerState* BackendState::leave(Waiter* w) {
  std::lock_guard lock(queue_mutex);
  if (!w->queued) return w->granted;
  (w->server ? w->server->queue : queue).remove(w, false);
  waiting_.fetch_sub(1, std::memory_order_relaxed);
  return nullptr;
}

void BackendState::dispatch(ServerState& s) {
  std::lock_guard lock(queue_mutex);
  for (;;) {
    // HAProxy's rule: the older of the server's head and the backend's
    // head; a backend waiter only takes a server that may serve it.
    // A server that is not usable serves neither queue (its own waiters
    // are requeued when it goes down).
    if (!s.usable()) return;
    Waiter* mine = s.queue.front();
    Waiter* any = queue.front();
    Waiter* w = mine && (!any || mine->ticket < any->ticket) ? mine : any;
    if (!w || !s.try_take()) return;
    (w == mine ? s.queue : queue).remove(w, true);
    waiting_.fetch_sub(1, std::memory_order_relaxed);
    w->granted = &s;
    w->sink->on_granted(w);
  }
}

uint32_t BackendState::requeue(ServerState& s, bool redispatch) {
  std::lock_guard lock(queue_mutex);
  uint32_t n = 0;
  while (Waiter* w = s.queue.front()) {
    s.queue.remove(w, false);
    ++n;
    if (!redispatch) {
      waiting_.fetch_sub(1, std::memory_order_relaxed);
      w->granted = nullptr;
      w->refused = true;
      w->sink->on_granted(w);
      continue;
    }
    // Into the backend's queue by ticket: it keeps its place among
    // sessions that came before and after it.
    w->server = nullptr;
    queue.insert_by_ticket(w);
  }
  return n;
}

StateRegistry::StateRegistry(unsigned workers)
    : workers_(workers), process_(std::make_shared<ProcessState>(workers)) {}

std::shared_ptr<FrontendState> StateRegistry::frontend(const std::string& name) {
  auto& slot = frontends_[name];
  if (!slot) slot = std::make_shared<FrontendState>(name, workers_);
  return slot;
}

std::shared_ptr<BackendState> StateRegistry::backend(const std::string& name) {
  auto& slot = backends_[name];
  if (!slot) slot = std::make_shared<BackendState>(name, workers_);
  return slot;
}

std::shared_ptr<ServerState> StateRegistry::server(const std::shared_ptr<BackendState>& backend,
                                                   const std::string& name,
                                                   const std::string& address) {
  auto& slot = servers_[backend->name + "/" + name];
  // DESIGN §3: a server whose address changed is a new server; sessions of
  // the old one keep it alive through their snapshot until they end.
  if (!slot || &slot->backend != backend.get() || slot->address != address)
    slot = std::make_shared<ServerState>(backend, backend->name + "/" + name, address, workers_);
  return slot;
}

const std::shared_ptr<tls::TicketKeys>& StateRegistry::ticket_keys() {
  if (!ticket_keys_) ticket_keys_ = tls::TicketKeys::random();
  return ticket_keys_;
}

}  // namespace mqlb::lb
