#include "lb/admin/admin.h"

namespace mqlb::lb::admin {

std::string_view status_name(const Server& s) {
  const ServerState& st = *s.state;
  switch (st.admin()) {
    case AdminState::Maint:
      return "MAINT";
    case AdminState::Drain:
      return "DRAIN";
    case AdminState::Ready:
      break;
  }
  if (st.health() == Health::Down) return "DOWN";
  return st.weight() == 0 ? "NOLB" : "UP";
}

std::string_view admin_name(AdminState a) {
  switch (a) {
    case AdminState::Ready:
      return "ready";
    case AdminState::Drain:
      return "drain";
    case AdminState::Maint:
      return "maint";
  }
  return "ready";
}

std::optional<AdminState> parse_admin(std::string_view text) {
  if (text == "ready") return AdminState::Ready;
  if (text == "drain") return AdminState::Drain;
  if (text == "maint") return AdminState::Maint;
  return std::nullopt;
}

const Backend* find_backend(const Runtime& rt, std::string_view name) {
  for (const auto& b : rt.backends)
    if (b->conf.name == name) return b.get();
  return nullptr;
}

const Server* find_server(const Backend& b, std::string_view name) {
  for (const auto& s : b.servers)
    if (s->conf.name == name) return s.get();
  return nullptr;
}

}  // namespace mqlb::lb::admin
