// pgsluice's own SHOW topics (admission control); show.cpp dispatches to them.
#pragma once

#include "proxy/admin/result_set.h"
#include "proxy/admin/status.h"

namespace pgs::admin::detail {

void show_admission(const Status& s, ResultSet& out);    // one row per database
void show_client_keys(const Status& s, ResultSet& out);  // one row per database and client key
void show_alerts(const Status& s, ResultSet& out);       // one row per alert, active first

}  // namespace pgs::admin::detail
