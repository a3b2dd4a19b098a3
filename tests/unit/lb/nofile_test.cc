// plan_nofile: two descriptors per session (a queued session is one of the
// maxconn sessions already), plus a reserve.
#include "lb/nofile.h"

#include <catch2/catch.hpp>
#include <limits>

namespace mqlb::lb {
namespace {

using Catch::Matchers::Contains;

TEST_CASE("nofile raises the soft limit when the hard limit allows it", "[nofile]") {
  auto plan = plan_nofile(1000, 1024, 1'048'576, 100);
  CHECK(plan.soft == 2100);
  CHECK(plan.maxconn == 1000);
  CHECK(plan.warning.empty());
}

TEST_CASE("nofile raises the soft limit up to a hard limit equal to the need", "[nofile]") {
  auto plan = plan_nofile(1000, 1024, 2100, 100);
  CHECK(plan.soft == 2100);
  CHECK(plan.maxconn == 1000);
  CHECK(plan.warning.empty());
}

TEST_CASE("nofile keeps a soft limit already above the need", "[nofile]") {
  auto plan = plan_nofile(1000, 65'536, 1'048'576, 100);
  CHECK(plan.soft == 65'536);
  CHECK(plan.maxconn == 1000);
  CHECK(plan.warning.empty());
}

TEST_CASE("nofile handles an unlimited hard limit", "[nofile]") {
  auto plan = plan_nofile(4096, 1024, std::numeric_limits<uint64_t>::max(), 64);
  CHECK(plan.soft == 4096 * 2 + 64);
  CHECK(plan.maxconn == 4096);
  CHECK(plan.warning.empty());
}

TEST_CASE("nofile lowers maxconn to what the hard limit holds and warns", "[nofile]") {
  auto plan = plan_nofile(5000, 1024, 4096, 96);
  CHECK(plan.soft == 4096);
  CHECK(plan.maxconn == (4096 - 96) / 2);
  CHECK_THAT(plan.warning, Contains("maxconn"));
  CHECK_THAT(plan.warning, Contains("5000"));
  CHECK_THAT(plan.warning, Contains("10096"));  // the need
  CHECK_THAT(plan.warning, Contains("4096"));   // the hard limit
  CHECK_THAT(plan.warning, Contains("2000"));   // the new maxconn
}

TEST_CASE("nofile lowers maxconn by one when one descriptor is missing", "[nofile]") {
  auto plan = plan_nofile(1000, 1024, 2099, 100);
  CHECK(plan.soft == 2099);
  CHECK(plan.maxconn == 999);
  CHECK_FALSE(plan.warning.empty());
}

TEST_CASE("nofile keeps at least one session when the reserve eats the hard limit", "[nofile]") {
  auto plan = plan_nofile(100, 64, 64, 100);
  CHECK(plan.soft == 64);
  CHECK(plan.maxconn == 1);
  CHECK_THAT(plan.warning, Contains("maxconn"));
}

}  // namespace
}  // namespace mqlb::lb
