// GET /metrics: the Status in the Prometheus text exposition format 0.0.4.
//
// Every family is named pgsluice_*; HELP and TYPE come once, before the
// family's samples; counters end in _total; times are in seconds;
// histograms carry cumulative _bucket{le=...} up to +Inf, _sum and _count.
// A series (name and labels) is written at most once, even if the Status
// names a database twice.
#pragma once

#include <string>

#include "proxy/admin/status.h"

namespace pgs::admin {

// The Content-Type to send with it.
inline constexpr const char* kPrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

std::string prometheus_text(const Status& s);

}  // namespace pgs::admin
