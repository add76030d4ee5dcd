// The admin console's command language: the text of one simple Query
// message turned into a command, or an error to send back.
//
//   SHOW topic          PAUSE [db]      RESUME [db]     RELOAD
//   SET key = value     KILL_CLIENT id  SHUTDOWN
//
// Keywords in any case; identifiers bare or "double-quoted" ("" inside
// stands for "); bare identifiers are taken as typed (no case folding, as
// PgBouncer). Whitespace and semicolons around the command are ignored; a
// second command in the same query is an error.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "proxy/admin/console_error.h"

namespace pgs::admin {

enum class CommandKind {
  Empty,  // only whitespace and semicolons: answered with EmptyQueryResponse
  Show,
  Pause,
  Resume,
  Reload,
  Set,
  KillClient,
  Shutdown,
};

struct ConsoleCommand {
  CommandKind kind = CommandKind::Empty;
  std::string topic;       // Show: upper case, one of show_topics()
  std::string database;    // Pause, Resume: "" for every database
  std::string key;         // Set: as typed, quoted parts kept: limits.clients."10.0.0.5".weight
  std::string value;       // Set: the raw text after '=', trimmed: 4, 'x', "x", word, [1, 2]
  uint64_t client_id = 0;  // KillClient
};

struct ParsedCommand {
  bool ok = false;
  ConsoleCommand command;  // when ok
  ErrorInfo error;         // when !ok: 42601 syntax, 0A000 PgBouncer command pgsluice lacks,
                           // 42704 unknown SHOW topic; the hint lists the commands
};

ParsedCommand parse_command(std::string_view sql);

}  // namespace pgs::admin
