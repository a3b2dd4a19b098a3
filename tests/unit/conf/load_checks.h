// What the loader tests share: load a JSON document, show its errors, and
// check that it loads or is refused with a given error.
#pragma once

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <sstream>
#include <string>

#include "conf/json_loader.h"

namespace mqlb::conf::checks {

inline constexpr const char* kFile = "mqlb.json";

inline LoadResult load(const nlohmann::json& doc) {
  return load_json(doc.dump(2), kFile);
}

inline std::string listing(const LoadResult& r) {
  std::ostringstream out;
  for (const auto& e : r.errors)
    out << "\n  error: " << e.to_string();
  for (const auto& w : r.warnings)
    out << "\n  warning: " << w.to_string();
  return out.str();
}

// The document loads without errors; returns the config.
inline Config loads(const nlohmann::json& doc) {
  LoadResult r = load(doc);
  INFO(listing(r));
  REQUIRE(r.errors.empty());
  REQUIRE(r.config);
  return *r.config;
}

enum class Match { Prefix, Exact };

// The document is refused, among others with an error at `field` whose
// message starts with (or is) `message`.
inline void refused_with(const nlohmann::json& doc, const std::string& field,
                         const std::string& message, Match match = Match::Prefix) {
  LoadResult r = load(doc);
  INFO(listing(r));
  CHECK_FALSE(r.config);
  bool found = std::any_of(r.errors.begin(), r.errors.end(), [&](const Error& e) {
    return e.field == field &&
           (match == Match::Exact ? e.message == message
                                  : e.message.compare(0, message.size(), message) == 0);
  });
  INFO("wanted: " << field << ": " << message << (match == Match::Exact ? "" : "..."));
  CHECK(found);
}

}  // namespace mqlb::conf::checks
