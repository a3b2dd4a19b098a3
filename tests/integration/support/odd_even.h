// The operators' odd/even test, as the acceptance tests count it: 1 to N
// published through mqlb, an end marker straight to each broker, and each
// broker's subscriber holding every other number. Main thread.
#pragma once

#include <set>
#include <string>
#include <string_view>

#include "support/broker.h"

namespace mqlb::test::odd_even {

inline constexpr char kEnd[] = "end";

// The numbers among `subscriber`'s payloads (the end marker and payloads
// starting with `skip` left out).
inline std::multiset<int> numbers_received(const Subscriber& subscriber,
                                           std::string_view skip = {}) {
  std::multiset<int> numbers;
  for (const auto& payload : subscriber.payloads())
    if (payload != kEnd && (skip.empty() || payload.rfind(skip, 0) != 0))
      numbers.insert(std::stoi(payload));
  return numbers;
}

inline size_t count_payload(const Subscriber& subscriber, const std::string& payload) {
  size_t n = 0;
  for (const auto& p : subscriber.payloads())
    n += p == payload ? 1 : 0;
  return n;
}

inline bool received_end(const Subscriber& subscriber) {
  return count_payload(subscriber, kEnd) > 0;
}

// first, first + 2, ... up to last.
inline std::multiset<int> every_other(int first, int last) {
  std::multiset<int> numbers;
  for (int n = first; n <= last; n += 2)
    numbers.insert(n);
  return numbers;
}

}  // namespace mqlb::test::odd_even
