// `pgsluice --check --online`: what one PostgreSQL server of the config says
// about itself, read with libpq (the running proxy speaks the protocol
// itself; only this command links libpq).
#pragma once

#include "config/audit.h"
#include "config/config.h"

namespace pgs {

// Logs in to `target` as the first [users] entry that works, trying the
// dbname of each of its databases, without TLS as pgsluice does
// (connect_timeout 5 s), and reads its connection limits, timeouts,
// databases and roles. On failure the facts carry libpq's message.
config::ServerFacts read_server_facts(const config::Config& c, const config::ServerTarget& target);

}  // namespace pgs
