// The little pgsluice needs to know of SQL text: which command each
// statement of a query string starts with. A lexer, not a parser: it steps
// over comments, quoted strings and identifiers and dollar-quoted bodies, so
// that a keyword inside them is never taken for a statement.
//
// Pure: no sockets, no allocation.
#pragma once

#include <string_view>

namespace pgs::sql {

// True when a statement of `sql` (statements end at a ';' outside quotes and
// comments) begins with the word `keyword` (ASCII letters, matched without
// regard to case). "LISTEN x", "select 1; listen x" and "/* c */ Listen x"
// begin with LISTEN; "SELECT 'listen'" and "listen_to_me()" do not.
[[nodiscard]] bool some_statement_starts_with(std::string_view sql, std::string_view keyword);

}  // namespace pgs::sql
