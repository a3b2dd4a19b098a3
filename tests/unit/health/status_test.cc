// Status names and descriptions as HAProxy 2.6 src/check.c `check_statuses` has them.
#include "health/status.h"

#include <catch2/catch.hpp>

namespace mqlb::health {
namespace {

TEST_CASE("each status has HAProxy's name and description", "[health]") {
  struct Row {
    Status s;
    const char* name;
    const char* description;
  };
  const Row rows[] = {
      {Status::Unknown, "UNK", "Unknown"},
      {Status::Hana, "HANA", "Health analyze"},
      {Status::SockErr, "SOCKERR", "Socket error"},
      {Status::L4Ok, "L4OK", "Layer4 check passed"},
      {Status::L4Tout, "L4TOUT", "Layer4 timeout"},
      {Status::L4Con, "L4CON", "Layer4 connection problem"},
      {Status::L6Ok, "L6OK", "Layer6 check passed"},
      {Status::L6Tout, "L6TOUT", "Layer6 timeout"},
      {Status::L6Rsp, "L6RSP", "Layer6 invalid response"},
      {Status::L7Tout, "L7TOUT", "Layer7 timeout"},
      {Status::L7Rsp, "L7RSP", "Layer7 invalid response"},
      {Status::L7Ok, "L7OK", "Layer7 check passed"},
      {Status::L7Sts, "L7STS", "Layer7 wrong status"},
  };
  for (const auto& row : rows) {
    CHECK(name(row.s) == row.name);
    CHECK(description(row.s) == row.description);
  }
}

CheckResult of(Status s) {
  CheckResult r;
  r.status = s;
  return r;
}

TEST_CASE("only the OK statuses pass and only L7OK and L7STS print a code", "[health]") {
  CHECK(of(Status::L4Ok).ok());
  CHECK(of(Status::L6Ok).ok());
  CHECK(of(Status::L7Ok).ok());
  CHECK_FALSE(of(Status::L7Sts).ok());
  CHECK_FALSE(of(Status::L4Con).ok());
  CHECK_FALSE(CheckResult{}.ok());

  CHECK(reports_code(Status::L7Ok));
  CHECK(reports_code(Status::L7Sts));
  CHECK_FALSE(reports_code(Status::L7Rsp));
  CHECK_FALSE(reports_code(Status::Hana));  // before HAProxy's L57DATA
  CHECK_FALSE(of(Status::Hana).ok());
  CHECK_FALSE(reports_code(Status::L7Tout));
  CHECK_FALSE(reports_code(Status::L4Ok));
}

}  // namespace
}  // namespace mqlb::health
