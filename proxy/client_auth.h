// Authenticating one connecting client (a proxy client or an admin console
// user) by the [auth] method: trust, cleartext password, MD5 or SCRAM-SHA-256.
// Owns the exchange's state; the caller moves the bytes. Unknown users are
// taken through the same exchange with a mock verifier, so that a failed
// login reveals nothing about which user names exist.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "config/config.h"
#include "protocol/auth.h"
#include "protocol/framer.h"

namespace pgs {

struct UserAuth;
class Worker;

class ClientAuth {
 public:
  enum class Step {
    Continue,  // `out` holds the next challenge; wait for the client's answer
    Done,      // authenticated; `out` holds any final server message (not AuthenticationOk)
    Failed,    // wrong password or unknown user: FATAL 28P01
    Invalid,   // the client broke the protocol: FATAL with sqlstate()/error()
    NeedMore,  // feed(): no whole message yet
  };

  ClientAuth(const Worker& worker, std::string user);
  ~ClientAuth();

  // The first server message; Done at once for trust.
  Step begin(std::string& out);
  // One password-type message body ('p') from the client.
  Step input(std::string_view body, std::string& out);
  // The client's next message, framed from `in` (at most kMaxMessage bytes;
  // the framer's own limit is restored): `used` is how much of `in` it took.
  static constexpr uint32_t kMaxMessage = 8192;
  Step feed(proto::Framer& framer, std::string_view in, size_t& used, std::string& out);

  const char* sqlstate() const { return sqlstate_; }
  const std::string& error() const { return error_; }

 private:
  Step invalid(const char* sqlstate, std::string message);

  const Worker& worker_;
  std::string user_;
  config::AuthMethod method_;
  std::unique_ptr<proto::ScramServer> scram_;
  bool scram_first_done_ = false;
  std::string md5_salt_;
  const char* sqlstate_ = "08P01";
  std::string error_;
};

}  // namespace pgs
