#include "support/failure.h"

#include <exception>

namespace mqlb::test {
namespace {
bool failed = false;
}  // namespace

void begin_test_case() {
  failed = false;
}

void note_failed_assertion() {
  failed = true;
}

bool test_failing() {
  return failed || std::uncaught_exceptions() > 0;
}

}  // namespace mqlb::test
