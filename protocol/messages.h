// Builders and parsers for the typed messages pgsluice itself produces or must
// look inside. Everything else is relayed as bytes and never re-encoded.
// Builders append one whole message to `out`. Parsers take the message body
// (the bytes after the 5-byte header) and return false on malformed input.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pgs::proto {

// Frontend (client -> server) message types.
namespace fe {
constexpr char kBind = 'B', kClose = 'C', kCopyData = 'd', kCopyDone = 'c', kCopyFail = 'f',
               kDescribe = 'D', kExecute = 'E', kFlush = 'H', kFunctionCall = 'F', kParse = 'P',
               kPassword = 'p',  // also SASLInitialResponse and SASLResponse
    kQuery = 'Q', kSync = 'S', kTerminate = 'X';
}  // namespace fe

// Backend (server -> client) message types.
namespace be {
constexpr char kAuthentication = 'R', kBackendKeyData = 'K', kBindComplete = '2',
               kCloseComplete = '3', kCommandComplete = 'C', kCopyData = 'd', kCopyDone = 'c',
               kCopyInResponse = 'G', kCopyOutResponse = 'H', kCopyBothResponse = 'W',
               kDataRow = 'D', kEmptyQueryResponse = 'I', kErrorResponse = 'E',
               kFunctionCallResponse = 'V', kNegotiateProtocolVersion = 'v', kNoData = 'n',
               kNoticeResponse = 'N', kNotificationResponse = 'A', kParameterDescription = 't',
               kParameterStatus = 'S', kParseComplete = '1', kPortalSuspended = 's',
               kReadyForQuery = 'Z', kRowDescription = 'T';
}  // namespace be

// Authentication request codes (the int32 after 'R').
enum AuthCode : int32_t {
  kAuthOk = 0,
  kAuthCleartext = 3,
  kAuthMd5 = 5,
  kAuthSasl = 10,
  kAuthSaslContinue = 11,
  kAuthSaslFinal = 12,
};

// The fields of an ErrorResponse or NoticeResponse that pgsluice writes or reads.
struct ErrorFields {
  std::string severity;  // "ERROR", "FATAL", "NOTICE", ... (written to both S and V)
  std::string sqlstate;  // five characters, e.g. "53300"
  std::string message;
  std::string detail;    // omitted when empty
  std::string hint;      // omitted when empty
};

// ---- backend builders ----
void write_auth_ok(std::string& out);
void write_auth_cleartext(std::string& out);
void write_auth_md5(std::string& out, std::string_view salt4);
void write_auth_sasl(std::string& out, std::span<const std::string_view> mechanisms);
void write_auth_sasl_continue(std::string& out, std::string_view data);
void write_auth_sasl_final(std::string& out, std::string_view data);
void write_parameter_status(std::string& out, std::string_view name, std::string_view value);
void write_backend_key_data(std::string& out, int32_t pid, int32_t key);
void write_ready_for_query(std::string& out, char status);  // 'I', 'T' or 'E'
void write_negotiate_protocol_version(std::string& out, int32_t newest_minor,
                                      std::span<const std::string> unrecognized_options);
void write_error(std::string& out, const ErrorFields& f);   // 'E'
void write_notice(std::string& out, const ErrorFields& f);  // 'N'
void write_command_complete(std::string& out, std::string_view tag);
void write_empty_query_response(std::string& out);
void write_parse_complete(std::string& out);  // '1'
void write_close_complete(std::string& out);  // '3'
// One column of a RowDescription; values are sent in text format.
struct RowField {
  std::string_view name;
  int32_t type_oid = 25;   // text
  int16_t type_size = -1;  // pg_type.typlen: -1 variable, 4 int4, 8 int8 / float8, 1 bool
};
void write_row_description(std::string& out, std::span<const RowField> fields);
// RowDescription with every column of type text (oid 25), text format.
void write_row_description(std::string& out, std::span<const std::string_view> column_names);
// DataRow; std::nullopt is SQL NULL.
void write_data_row(std::string& out, std::span<const std::optional<std::string_view>> values);

// ---- frontend builders ----
// StartupMessage for protocol 3.0 with the given parameters (user, database, ...).
void write_startup_message(std::string& out,
                           std::span<const std::pair<std::string, std::string>> params);
void write_cancel_request(std::string& out, int32_t pid, int32_t key);
void write_query(std::string& out, std::string_view sql);
void write_terminate(std::string& out);
void write_sync(std::string& out);
void write_password_message(std::string& out, std::string_view password);
void write_sasl_initial_response(std::string& out, std::string_view mechanism,
                                 std::string_view data);
void write_sasl_response(std::string& out, std::string_view data);

// ---- parsers (body = bytes after the header) ----
[[nodiscard]] bool parse_error_fields(std::string_view body, ErrorFields& out);  // 'E' or 'N'
[[nodiscard]] bool parse_parameter_status(std::string_view body, std::string_view& name,
                                          std::string_view& value);
[[nodiscard]] bool parse_backend_key_data(std::string_view body, int32_t& pid, int32_t& key);
[[nodiscard]] bool parse_ready_for_query(std::string_view body, char& status);
struct AuthRequest {
  int32_t code = 0;
  std::string_view data;  // what follows the code: md5 salt, SASL mechanism list or SASL data
};
[[nodiscard]] bool parse_auth_request(std::string_view body, AuthRequest& out);
// SASL mechanism list of an AuthenticationSASL request.
[[nodiscard]] bool parse_sasl_mechanisms(std::string_view data, std::vector<std::string_view>& out);
[[nodiscard]] bool parse_password_message(std::string_view body, std::string_view& password);
// SASLInitialResponse: mechanism name, then int32 length (-1: no data) and data.
[[nodiscard]] bool parse_sasl_initial_response(std::string_view body, std::string_view& mechanism,
                                               std::string_view& data);
// CommandComplete tag.
[[nodiscard]] bool parse_command_complete(std::string_view body, std::string_view& tag);

}  // namespace pgs::proto
