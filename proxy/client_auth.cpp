#include "proxy/client_auth.h"

#include "proxy/message_cursor.h"
#include "proxy/worker.h"

namespace pgs {

ClientAuth::ClientAuth(const Worker& worker, std::string user)
    : worker_(worker), user_(std::move(user)), method_(worker.config().auth_method) {}

ClientAuth::~ClientAuth() = default;

ClientAuth::Step ClientAuth::invalid(const char* sqlstate, std::string message) {
  sqlstate_ = sqlstate;
  error_ = std::move(message);
  return Step::Invalid;
}

ClientAuth::Step ClientAuth::begin(std::string& out) {
  switch (method_) {
    case config::AuthMethod::Trust:
      return Step::Done;
    case config::AuthMethod::Password:
      proto::write_auth_cleartext(out);
      return Step::Continue;
    case config::AuthMethod::Md5:
      md5_salt_ = proto::random_bytes(4);
      proto::write_auth_md5(out, md5_salt_);
      return Step::Continue;
    case config::AuthMethod::ScramSha256: {
      const UserAuth* u = worker_.user(user_);
      scram_ = std::make_unique<proto::ScramServer>(u != nullptr ? u->verifier : worker_.mock_verifier());
      std::string_view mechs[] = {"SCRAM-SHA-256"};
      proto::write_auth_sasl(out, mechs);
      return Step::Continue;
    }
  }
  return Step::Failed;
}

ClientAuth::Step ClientAuth::input(std::string_view body, std::string& out) {
  const UserAuth* u = worker_.user(user_);
  switch (method_) {
    case config::AuthMethod::Trust:
      return Step::Done;
    case config::AuthMethod::Password:
    case config::AuthMethod::Md5: {
      std::string_view pw;
      if (!proto::parse_password_message(body, pw)) return invalid("08P01", "malformed password message");
      if (u == nullptr) return Step::Failed;
      bool ok = method_ == config::AuthMethod::Password
                    ? proto::secrets_equal(pw, u->password)
                    : proto::secrets_equal(pw, proto::md5_password_response(user_, u->password, md5_salt_));
      return ok ? Step::Done : Step::Failed;
    }
    case config::AuthMethod::ScramSha256: {
      std::string reply, error;
      if (scram_first_done_) {
        proto::ScramServer::Step step = scram_->client_final(body, reply, error);
        if (step != proto::ScramServer::Step::Done || u == nullptr) return Step::Failed;
        proto::write_auth_sasl_final(out, reply);
        scram_.reset();
        return Step::Done;
      }
      std::string_view mech, data;
      if (!proto::parse_sasl_initial_response(body, mech, data))
        return invalid("08P01", "malformed SASLInitialResponse");
      if (mech != "SCRAM-SHA-256")
        return invalid("28000", "SASL mechanism \"" + std::string(mech) +
                                    "\" is not supported: pgsluice offers SCRAM-SHA-256");
      if (scram_->client_first(data, reply, error) != proto::ScramServer::Step::Continue)
        return invalid("08P01", "SCRAM authentication failed: " + error);
      scram_first_done_ = true;
      proto::write_auth_sasl_continue(out, reply);
      return Step::Continue;
    }
  }
  return Step::Failed;
}

ClientAuth::Step ClientAuth::feed(proto::Framer& framer, std::string_view in, size_t& used, std::string& out) {
  used = 0;
  char type = 0;
  std::string_view body;
  const char* err = "";
  const uint32_t limit = framer.max_length();
  framer.set_max_length(kMaxMessage);
  Next r = next_message(framer, in, used, type, body, &err);
  framer.set_max_length(limit);
  if (r == Next::NeedMore) return Step::NeedMore;
  if (r == Next::Invalid) return invalid("08P01", std::string("invalid authentication message: ") + err);
  if (type != proto::fe::kPassword)
    return invalid("08P01", std::string("expected a password response, got message type '") + type + "'");
  return input(body, out);
}

}  // namespace pgs
