// SHOW <topic> of the admin console: a Status turned into a result set.
//
// PgBouncer topics (VERSION, CONFIG, DATABASES, POOLS, CLIENTS, SERVERS,
// USERS, LISTS, STATS, STATS_TOTALS, STATS_AVERAGES, TOTALS) have exactly
// PgBouncer 1.21's columns, column order and column types, so tools written
// for PgBouncer (pgbouncer_exporter, scripts) read them unchanged. pgsluice's
// own topics (ADMISSION, CLIENT_KEYS, ALERTS) report admission control.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "proxy/admin/console_error.h"
#include "proxy/admin/result_set.h"
#include "proxy/admin/status.h"

namespace pgs::admin {

// Every topic SHOW answers, upper case, in the order SHOW HELP lists them.
std::span<const std::string_view> show_topics();

// True if SHOW answers `topic` (any case). Otherwise `err` says why:
// 0A000 for a PgBouncer topic pgsluice does not have (FDS, MEM, ...), 42704
// for any other name; its hint lists the topics.
[[nodiscard]] bool check_show_topic(std::string_view topic, ErrorInfo& err);

// Fills `out` with SHOW `topic` (any case) of `s`; false (and `err`) for a
// topic check_show_topic() refuses.
[[nodiscard]] bool show(const Status& s, std::string_view topic, ResultSet& out, ErrorInfo& err);

// "SHOW takes one of: HELP, VERSION, ...", for error hints.
std::string show_topics_hint();

// One line naming every console command, for error hints.
std::string_view commands_hint();

}  // namespace pgs::admin
