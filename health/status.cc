#include "health/status.h"

namespace mqlb::health {

namespace {

struct Names {
  std::string_view name, description;
};

// Wording of HAProxy 2.6 src/check.c `check_statuses`.
Names names(Status s) {
  switch (s) {
    case Status::Unknown:
      return {"UNK", "Unknown"};
    case Status::Hana:
      return {"HANA", "Health analyze"};
    case Status::SockErr:
      return {"SOCKERR", "Socket error"};
    case Status::L4Ok:
      return {"L4OK", "Layer4 check passed"};
    case Status::L4Tout:
      return {"L4TOUT", "Layer4 timeout"};
    case Status::L4Con:
      return {"L4CON", "Layer4 connection problem"};
    case Status::L6Ok:
      return {"L6OK", "Layer6 check passed"};
    case Status::L6Tout:
      return {"L6TOUT", "Layer6 timeout"};
    case Status::L6Rsp:
      return {"L6RSP", "Layer6 invalid response"};
    case Status::L7Tout:
      return {"L7TOUT", "Layer7 timeout"};
    case Status::L7Rsp:
      return {"L7RSP", "Layer7 invalid response"};
    case Status::L7Ok:
      return {"L7OK", "Layer7 check passed"};
    case Status::L7Sts:
      return {"L7STS", "Layer7 wrong status"};
  }
  return {"UNK", "Unknown"};
}

}  // namespace

std::string_view name(Status s) {
  return names(s).name;
}
std::string_view description(Status s) {
  return names(s).description;
}

bool passed(Status s) {
  return s == Status::L4Ok || s == Status::L6Ok || s == Status::L7Ok;
}

bool reports_code(Status s) {
  return s == Status::L7Ok || s == Status::L7Sts;
}

}  // namespace mqlb::health
