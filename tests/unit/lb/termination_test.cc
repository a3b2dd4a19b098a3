// Termination states map to HAProxy's two letters in one place.
#include "lb/termination.h"

#include <catch2/catch.hpp>
#include <set>
#include <string>

namespace mqlb::lb {
namespace {

TEST_CASE("every termination state has its HAProxy code", "[termination]") {
  CHECK(code(Termination::Normal) == "--");
  CHECK(code(Termination::ClientAbort) == "CD");
  CHECK(code(Termination::ServerAbort) == "SD");
  CHECK(code(Termination::ClientTimeout) == "cD");
  CHECK(code(Termination::ServerTimeout) == "sD");
  CHECK(code(Termination::ServerRefused) == "SC");
  CHECK(code(Termination::ConnectTimeout) == "sC");
  CHECK(code(Termination::ResourceConnect) == "RC");
  CHECK(code(Termination::ClientAbortConnect) == "CC");
  CHECK(code(Termination::ClientAbortQueue) == "CQ");
  CHECK(code(Termination::QueueTimeout) == "sQ");
  CHECK(code(Termination::KilledConnect) == "KC");
  CHECK(code(Termination::KilledQueue) == "KQ");
  CHECK(code(Termination::KilledData) == "KD");
  CHECK(code(Termination::ServerDownQueued) == "SQ");
  CHECK(code(Termination::ServerDownConnect) == "DC");
  CHECK(code(Termination::ServerDownData) == "DD");
  CHECK(code(Termination::ActiveUpData) == "UD");
}

TEST_CASE("no two termination states share a code", "[termination]") {
  std::set<std::string_view> seen;
  for (int t = 0; t <= static_cast<int>(Termination::ActiveUpData); ++t)
    CHECK(seen.insert(code(static_cast<Termination>(t))).second);
}

}  // namespace
}  // namespace mqlb::lb
