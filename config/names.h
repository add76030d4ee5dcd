// How config names are written in messages and dotted keys; shared by the
// loader and the audit (config/ only).
#pragma once

#include <string>
#include <string_view>

namespace pgs::config::detail {

// Double-quoted, with quotes, backslashes and control characters escaped so
// that whatever the user typed cannot break the one-line message.
std::string quoted(std::string_view s);
// How a table name is written in a TOML header: bare if it can be, else quoted.
std::string toml_key(std::string_view s);

}  // namespace pgs::config::detail
