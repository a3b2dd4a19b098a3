// The integration test runner: Catch2's main plus a listener that tells the
// fixtures when the running test case has failed, so they keep and print the
// logs of the processes they started.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include "support/failure.h"

namespace {

class FailureListener : public Catch::TestEventListenerBase {
 public:
  using TestEventListenerBase::TestEventListenerBase;

  void testCaseStarting(Catch::TestCaseInfo const& info) override {
    mqlb::test::begin_test_case();
    TestEventListenerBase::testCaseStarting(info);
  }

  bool assertionEnded(Catch::AssertionStats const& stats) override {
    if (!stats.assertionResult.isOk()) mqlb::test::note_failed_assertion();
    return TestEventListenerBase::assertionEnded(stats);
  }
};

}  // namespace

CATCH_REGISTER_LISTENER(FailureListener)
