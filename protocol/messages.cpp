#include "protocol/messages.h"

#include "protocol/byte_reader.h"
#include "protocol/message_writer.h"
#include "protocol/startup.h"

namespace pgs::proto {

namespace {

void write_auth_code(std::string& out, int32_t code, std::string_view data) {
  MessageWriter w(out);
  w.begin(be::kAuthentication);
  w.put_i32(code);
  w.put_bytes(data);
  w.finish();
}

void write_fields(std::string& out, char type, const ErrorFields& f) {
  MessageWriter w(out);
  w.begin(type);
  w.put_u8('S');
  w.put_cstring(f.severity);
  w.put_u8('V');
  w.put_cstring(f.severity);
  w.put_u8('C');
  w.put_cstring(f.sqlstate);
  w.put_u8('M');
  w.put_cstring(f.message);
  if (!f.detail.empty()) {
    w.put_u8('D');
    w.put_cstring(f.detail);
  }
  if (!f.hint.empty()) {
    w.put_u8('H');
    w.put_cstring(f.hint);
  }
  w.put_u8(0);
  w.finish();
}

void write_empty(std::string& out, char type) {
  MessageWriter w(out);
  w.begin(type);
  w.finish();
}

// A body that is one C string and nothing after it.
bool parse_single_cstring(std::string_view body, std::string_view& s) {
  ByteReader r(body);
  return r.read_cstring(s) && r.empty();
}

}  // namespace

// ---- backend builders ----

void write_auth_ok(std::string& out) { write_auth_code(out, kAuthOk, {}); }
void write_auth_cleartext(std::string& out) { write_auth_code(out, kAuthCleartext, {}); }
void write_auth_md5(std::string& out, std::string_view salt4) {
  write_auth_code(out, kAuthMd5, salt4);
}

void write_auth_sasl(std::string& out, std::span<const std::string_view> mechanisms) {
  MessageWriter w(out);
  w.begin(be::kAuthentication);
  w.put_i32(kAuthSasl);
  for (std::string_view m : mechanisms) w.put_cstring(m);
  w.put_u8(0);
  w.finish();
}

void write_auth_sasl_continue(std::string& out, std::string_view data) {
  write_auth_code(out, kAuthSaslContinue, data);
}
void write_auth_sasl_final(std::string& out, std::string_view data) {
  write_auth_code(out, kAuthSaslFinal, data);
}

void write_parameter_status(std::string& out, std::string_view name, std::string_view value) {
  MessageWriter w(out);
  w.begin(be::kParameterStatus);
  w.put_cstring(name);
  w.put_cstring(value);
  w.finish();
}

void write_backend_key_data(std::string& out, int32_t pid, int32_t key) {
  MessageWriter w(out);
  w.begin(be::kBackendKeyData);
  w.put_i32(pid);
  w.put_i32(key);
  w.finish();
}

void write_ready_for_query(std::string& out, char status) {
  MessageWriter w(out);
  w.begin(be::kReadyForQuery);
  w.put_u8(static_cast<uint8_t>(status));
  w.finish();
}

void write_negotiate_protocol_version(std::string& out, int32_t newest_minor,
                                      std::span<const std::string> unrecognized_options) {
  MessageWriter w(out);
  w.begin(be::kNegotiateProtocolVersion);
  w.put_i32(newest_minor);
  w.put_i32(static_cast<int32_t>(unrecognized_options.size()));
  for (const std::string& o : unrecognized_options) w.put_cstring(o);
  w.finish();
}

void write_error(std::string& out, const ErrorFields& f) { write_fields(out, be::kErrorResponse, f); }
void write_notice(std::string& out, const ErrorFields& f) {
  write_fields(out, be::kNoticeResponse, f);
}

void write_command_complete(std::string& out, std::string_view tag) {
  MessageWriter w(out);
  w.begin(be::kCommandComplete);
  w.put_cstring(tag);
  w.finish();
}

void write_empty_query_response(std::string& out) { write_empty(out, be::kEmptyQueryResponse); }
void write_parse_complete(std::string& out) { write_empty(out, be::kParseComplete); }
void write_close_complete(std::string& out) { write_empty(out, be::kCloseComplete); }

void write_row_description(std::string& out, std::span<const RowField> fields) {
  MessageWriter w(out);
  w.begin(be::kRowDescription);
  w.put_i16(static_cast<int16_t>(fields.size()));
  for (const RowField& f : fields) {
    w.put_cstring(f.name);
    w.put_i32(0);            // table oid
    w.put_i16(0);            // column attribute number
    w.put_i32(f.type_oid);
    w.put_i16(f.type_size);
    w.put_i32(-1);           // type modifier
    w.put_i16(0);            // format: text
  }
  w.finish();
}

void write_row_description(std::string& out, std::span<const std::string_view> column_names) {
  std::vector<RowField> fields;
  fields.reserve(column_names.size());
  for (std::string_view name : column_names) fields.push_back(RowField{name});
  write_row_description(out, fields);
}

void write_data_row(std::string& out, std::span<const std::optional<std::string_view>> values) {
  MessageWriter w(out);
  w.begin(be::kDataRow);
  w.put_i16(static_cast<int16_t>(values.size()));
  for (const auto& v : values) {
    if (!v) {
      w.put_i32(-1);
      continue;
    }
    w.put_i32(static_cast<int32_t>(v->size()));
    w.put_bytes(*v);
  }
  w.finish();
}

// ---- frontend builders ----

void write_startup_message(std::string& out,
                           std::span<const std::pair<std::string, std::string>> params) {
  MessageWriter w(out);
  w.begin_untyped();
  w.put_i32(kProtocol30);
  for (const auto& [name, value] : params) {
    w.put_cstring(name);
    w.put_cstring(value);
  }
  w.put_u8(0);
  w.finish();
}

void write_cancel_request(std::string& out, int32_t pid, int32_t key) {
  MessageWriter w(out);
  w.begin_untyped();
  w.put_i32(kCancelRequestCode);
  w.put_i32(pid);
  w.put_i32(key);
  w.finish();
}

void write_query(std::string& out, std::string_view sql) {
  MessageWriter w(out);
  w.begin(fe::kQuery);
  w.put_cstring(sql);
  w.finish();
}

void write_terminate(std::string& out) { write_empty(out, fe::kTerminate); }
void write_sync(std::string& out) { write_empty(out, fe::kSync); }

void write_password_message(std::string& out, std::string_view password) {
  MessageWriter w(out);
  w.begin(fe::kPassword);
  w.put_cstring(password);
  w.finish();
}

void write_sasl_initial_response(std::string& out, std::string_view mechanism,
                                 std::string_view data) {
  MessageWriter w(out);
  w.begin(fe::kPassword);
  w.put_cstring(mechanism);
  w.put_i32(static_cast<int32_t>(data.size()));
  w.put_bytes(data);
  w.finish();
}

void write_sasl_response(std::string& out, std::string_view data) {
  MessageWriter w(out);
  w.begin(fe::kPassword);
  w.put_bytes(data);
  w.finish();
}

// ---- parsers ----

bool parse_error_fields(std::string_view body, ErrorFields& out) {
  out = ErrorFields{};
  ByteReader r(body);
  std::string_view s_severity;
  std::string_view v_severity;
  bool have_v = false;
  for (;;) {
    uint8_t code = 0;
    if (!r.read_u8(code)) return false;  // no terminator
    if (code == 0) break;
    std::string_view value;
    if (!r.read_cstring(value)) return false;
    switch (code) {
      case 'S': s_severity = value; break;
      case 'V': v_severity = value; have_v = true; break;
      case 'C': out.sqlstate.assign(value); break;
      case 'M': out.message.assign(value); break;
      case 'D': out.detail.assign(value); break;
      case 'H': out.hint.assign(value); break;
      default: break;  // other fields (position, where, schema, ...) are not needed
    }
  }
  if (!r.empty()) return false;
  out.severity.assign(have_v ? v_severity : s_severity);
  return true;
}

bool parse_parameter_status(std::string_view body, std::string_view& name,
                            std::string_view& value) {
  ByteReader r(body);
  return r.read_cstring(name) && r.read_cstring(value) && r.empty();
}

bool parse_backend_key_data(std::string_view body, int32_t& pid, int32_t& key) {
  ByteReader r(body);
  return r.read_i32(pid) && r.read_i32(key) && r.empty();
}

bool parse_ready_for_query(std::string_view body, char& status) {
  if (body.size() != 1) return false;
  const char c = body[0];
  if (c != 'I' && c != 'T' && c != 'E') return false;
  status = c;
  return true;
}

bool parse_auth_request(std::string_view body, AuthRequest& out) {
  ByteReader r(body);
  if (!r.read_i32(out.code)) return false;
  out.data = r.rest();
  return true;
}

bool parse_sasl_mechanisms(std::string_view data, std::vector<std::string_view>& out) {
  out.clear();
  ByteReader r(data);
  for (;;) {
    std::string_view m;
    if (!r.read_cstring(m)) return false;  // list must end with an empty name
    if (m.empty()) return r.empty();
    out.push_back(m);
  }
}

bool parse_password_message(std::string_view body, std::string_view& password) {
  return parse_single_cstring(body, password);
}

bool parse_sasl_initial_response(std::string_view body, std::string_view& mechanism,
                                 std::string_view& data) {
  ByteReader r(body);
  int32_t length = 0;
  if (!r.read_cstring(mechanism) || !r.read_i32(length)) return false;
  if (length == -1) {
    data = {};
    return r.empty();
  }
  if (length < 0) return false;
  return r.read_bytes(static_cast<size_t>(length), data) && r.empty();
}

bool parse_command_complete(std::string_view body, std::string_view& tag) {
  return parse_single_cstring(body, tag);
}

}  // namespace pgs::proto
