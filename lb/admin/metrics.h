#pragma once
// Prometheus metrics, shaped like HAProxy 2.6's built-in exporter
// (addons/promex) under an `mqlb_` prefix, with its labels (`proxy`,
// `server`, `state`). Nothing is counted for them: the families are read at
// scrape time from the state objects' per-worker counters (lb/state.h),
// summed then, so a scrape costs the data path nothing and a reload resets
// nothing. prometheus-cpp's TextSerializer writes the exposition.
// Pure but for the clock the caller passes. Thread: control.

#include <prometheus/metric_family.h>

#include <cstdint>
#include <string>
#include <vector>

#include "lb/admin/admin.h"

namespace mqlb::lb::admin {

std::vector<prometheus::MetricFamily> collect(const Runtime& rt, const Info& info,
                                              int64_t now_unix_ms);

// The text exposition format (version 0.0.4) of `collect`.
std::string metrics_text(const Runtime& rt, const Info& info, int64_t now_unix_ms);

inline constexpr const char* kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace mqlb::lb::admin
