// Whether the running test case is failing, so fixtures can keep their
// temporary directory and print the logs of the processes they started.
// Main (test) thread only; fed by the Catch2 listener in main.cc.
#pragma once

namespace mqlb::test {

void begin_test_case();
void note_failed_assertion();

// True after a failed assertion in this test case, or while an exception
// (a failed REQUIRE, a harness timeout) unwinds the stack.
bool test_failing();

}  // namespace mqlb::test
