// GET /api/status: the Status as JSON, in the schema the dashboard reads
// (proxy/admin/status_json.md). Fields may be added; none may change.
#pragma once

#include <string>

#include "proxy/admin/status.h"

namespace pgs::admin {

std::string status_json(const Status& s);

}  // namespace pgs::admin
