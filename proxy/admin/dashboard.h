// The admin dashboard page (proxy/admin/dashboard.html), embedded in the
// binary at build time by proxy/admin/embed.cmake. The admin HTTP server
// serves it at GET / as text/html.
#pragma once

namespace pgs::admin {

// The page's bytes, followed by a NUL that kDashboardHtmlSize does not count.
extern const char kDashboardHtml[];
extern const unsigned long kDashboardHtmlSize;

}  // namespace pgs::admin
