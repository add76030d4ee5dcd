// Password authentication, both as a server (checking clients) and as a
// client (logging in to PostgreSQL): cleartext, MD5 and SCRAM-SHA-256
// (RFC 5802 / RFC 7677, no channel binding). Crypto comes from OpenSSL.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace pgs::proto {

// Cryptographically random bytes (OpenSSL RAND_bytes).
std::string random_bytes(size_t n);
std::string base64_encode(std::string_view raw);
[[nodiscard]] bool base64_decode(std::string_view text, std::string& raw);

// PostgreSQL's MD5 password response: "md5" + hex(md5(hex(md5(password + user)) + salt)).
std::string md5_password_response(std::string_view user, std::string_view password,
                                  std::string_view salt4);

// Constant-time comparison for secrets.
bool secrets_equal(std::string_view a, std::string_view b);

struct ScramVerifier {
  std::string salt;  // raw bytes
  int iterations = 4096;
  std::array<uint8_t, 32> stored_key{};
  std::array<uint8_t, 32> server_key{};
};

// Derives a verifier from a plaintext password. With an empty `salt` a random
// 16-byte salt is chosen. Password normalisation (SASLprep) is not applied:
// like libpq, a password that is not valid for SASLprep is used as its bytes.
ScramVerifier make_scram_verifier(std::string_view password, std::string_view salt = {},
                                  int iterations = 4096);

// One server-side SCRAM-SHA-256 exchange.
class ScramServer {
 public:
  enum class Step { Continue, Done, Fail };

  // `server_nonce` empty: 18 random bytes, base64-encoded.
  explicit ScramServer(const ScramVerifier& verifier, std::string server_nonce = {});

  // client-first-message in, server-first-message out. Rejects channel binding
  // 'p' (no TLS) and malformed messages with an error a person can act on.
  Step client_first(std::string_view message, std::string& server_first, std::string& error);
  // client-final-message in, server-final-message ("v=...") out when the proof
  // is right; Fail with error otherwise.
  Step client_final(std::string_view message, std::string& server_final, std::string& error);

 private:
  ScramVerifier verifier_;
  std::string server_nonce_;
  std::string client_first_bare_;
  std::string server_first_;
  std::string combined_nonce_;
  int state_ = 0;
};

// One client-side SCRAM-SHA-256 exchange, used to log in to PostgreSQL.
class ScramClient {
 public:
  // `client_nonce` empty: 18 random bytes, base64-encoded.
  explicit ScramClient(std::string password, std::string client_nonce = {});

  std::string client_first();  // "n,,n=,r=<nonce>"
  [[nodiscard]] bool server_first(std::string_view message, std::string& client_final,
                                  std::string& error);
  // Verifies the server's signature.
  [[nodiscard]] bool server_final(std::string_view message, std::string& error);

 private:
  std::string password_;
  std::string client_nonce_;
  std::string client_first_bare_;
  std::array<uint8_t, 32> server_key_{};
  std::string auth_message_;
};

}  // namespace pgs::proto
