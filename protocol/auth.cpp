#include "protocol/auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace pgs::proto {

namespace {

using Key = std::array<uint8_t, 32>;

const unsigned char* bytes(std::string_view s) {
  static const unsigned char kEmpty[1] = {0};
  return s.empty() ? kEmpty : reinterpret_cast<const unsigned char*>(s.data());
}

std::string_view as_view(const Key& k) {
  return {reinterpret_cast<const char*>(k.data()), k.size()};
}

bool hmac_sha256(std::string_view key, std::string_view data, Key& out) {
  unsigned int len = 0;
  if (key.size() > INT_MAX) return false;
  return HMAC(EVP_sha256(), bytes(key), static_cast<int>(key.size()), bytes(data), data.size(),
              out.data(), &len) != nullptr &&
         len == out.size();
}

bool sha256(std::string_view data, Key& out) {
  unsigned int len = 0;
  return EVP_Digest(bytes(data), data.size(), out.data(), &len, EVP_sha256(), nullptr) == 1 &&
         len == out.size();
}

bool salted_password(std::string_view password, std::string_view salt, int iterations, Key& out) {
  if (password.size() > INT_MAX || salt.size() > INT_MAX || iterations < 1) return false;
  const char* pass = password.empty() ? "" : password.data();
  return PKCS5_PBKDF2_HMAC(pass, static_cast<int>(password.size()), bytes(salt),
                           static_cast<int>(salt.size()), iterations, EVP_sha256(),
                           static_cast<int>(out.size()), out.data()) == 1;
}

// RFC 5802: ClientKey, StoredKey and ServerKey from the salted password.
bool derive_keys(const Key& salted, Key& client_key, Key& stored_key, Key& server_key) {
  return hmac_sha256(as_view(salted), "Client Key", client_key) &&
         sha256(as_view(client_key), stored_key) &&
         hmac_sha256(as_view(salted), "Server Key", server_key);
}

// RFC 5802 "printable": %x21-2B / %x2D-7E, i.e. visible ASCII except ','.
bool is_printable(std::string_view s) {
  for (char c : s) {
    if (c < 0x21 || c > 0x7E || c == ',') return false;
  }
  return true;
}

std::vector<std::string_view> split_attributes(std::string_view s) {
  std::vector<std::string_view> parts;
  for (;;) {
    const size_t comma = s.find(',');
    parts.push_back(s.substr(0, comma));
    if (comma == std::string_view::npos) return parts;
    s.remove_prefix(comma + 1);
  }
}

// "x=value" with the expected attribute letter.
bool attribute(std::string_view part, char name, std::string_view& value) {
  if (part.size() < 2 || part[0] != name || part[1] != '=') return false;
  value = part.substr(2);
  return true;
}

bool is_extension(std::string_view part) {
  return part.size() >= 2 && ((part[0] >= 'a' && part[0] <= 'z') ||
                              (part[0] >= 'A' && part[0] <= 'Z')) && part[1] == '=';
}

int b64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

constexpr int kMaxScramIterations = 10'000'000;

}  // namespace

std::string random_bytes(size_t n) {
  std::string out(n, '\0');
  if (n == 0) return out;
  if (n > INT_MAX || RAND_bytes(reinterpret_cast<unsigned char*>(out.data()),
                                static_cast<int>(n)) != 1) {
    // Continuing with predictable nonces or salts would be worse than stopping.
    std::fputs("pgsluice: OpenSSL RAND_bytes failed\n", stderr);
    std::abort();
  }
  return out;
}

std::string base64_encode(std::string_view raw) {
  constexpr size_t kChunk = 3 * 4096;  // a multiple of 3, so only the last chunk pads
  std::string out;
  out.reserve((raw.size() + 2) / 3 * 4);
  unsigned char buf[kChunk / 3 * 4 + 1];
  while (!raw.empty()) {
    const size_t n = raw.size() < kChunk ? raw.size() : kChunk;
    const int written = EVP_EncodeBlock(buf, bytes(raw), static_cast<int>(n));
    out.append(reinterpret_cast<const char*>(buf), static_cast<size_t>(written));
    raw.remove_prefix(n);
  }
  return out;
}

bool base64_decode(std::string_view text, std::string& raw) {
  raw.clear();
  // EVP_DecodeBlock skips whitespace and does not report padding, so the
  // input is validated here first: canonical RFC 4648 with padding, nothing else.
  if (text.size() % 4 != 0) return false;
  size_t padding = 0;
  if (!text.empty() && text.back() == '=') padding = text[text.size() - 2] == '=' ? 2 : 1;
  const size_t data_chars = text.size() - padding;
  for (size_t i = 0; i < data_chars; ++i) {
    if (b64_value(text[i]) < 0) return false;
  }
  // Unused bits before the padding must be zero, so every byte string has one encoding.
  if (padding == 2 && (b64_value(text[data_chars - 1]) & 0x0F) != 0) return false;
  if (padding == 1 && (b64_value(text[data_chars - 1]) & 0x03) != 0) return false;

  constexpr size_t kChunk = 4 * 4096;
  unsigned char buf[kChunk / 4 * 3];
  raw.reserve(text.size() / 4 * 3);
  while (!text.empty()) {
    const size_t n = text.size() < kChunk ? text.size() : kChunk;
    const int written = EVP_DecodeBlock(buf, bytes(text), static_cast<int>(n));
    if (written < 0) {
      raw.clear();
      return false;
    }
    raw.append(reinterpret_cast<const char*>(buf), static_cast<size_t>(written));
    text.remove_prefix(n);
  }
  raw.resize(raw.size() - padding);  // EVP_DecodeBlock counts padding as zero bytes
  return true;
}

std::string md5_password_response(std::string_view user, std::string_view password,
                                   std::string_view salt4) {
  auto md5_hex = [](std::string_view data) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    std::string hex;
    if (EVP_Digest(bytes(data), data.size(), md, &len, EVP_md5(), nullptr) != 1) return hex;
    static const char kDigits[] = "0123456789abcdef";
    for (unsigned int i = 0; i < len; ++i) {
      hex.push_back(kDigits[md[i] >> 4]);
      hex.push_back(kDigits[md[i] & 0x0F]);
    }
    return hex;
  };
  // If MD5 is unavailable (e.g. a FIPS-only provider) the result holds a NUL, so it
  // can equal no password read from a PasswordMessage: callers fail closed.
  const std::string unavailable("\0md5 unavailable", 16);
  std::string inner(password);
  inner.append(user);
  std::string outer = md5_hex(inner);
  OPENSSL_cleanse(inner.data(), inner.size());
  if (outer.empty()) return unavailable;
  outer.append(salt4);
  std::string result = md5_hex(outer);
  if (result.empty()) return unavailable;
  return "md5" + result;
}

bool secrets_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

ScramVerifier make_scram_verifier(std::string_view password, std::string_view salt,
                                  int iterations) {
  ScramVerifier v;
  v.salt = salt.empty() ? random_bytes(16) : std::string(salt);
  v.iterations = iterations < 1 ? 1 : iterations;
  Key salted{};
  Key client_key{};
  // On a crypto failure the keys stay zero: no proof can hash to a zero StoredKey.
  if (!salted_password(password, v.salt, v.iterations, salted) ||
      !derive_keys(salted, client_key, v.stored_key, v.server_key)) {
    v.stored_key.fill(0);
    v.server_key.fill(0);
  }
  OPENSSL_cleanse(salted.data(), salted.size());
  OPENSSL_cleanse(client_key.data(), client_key.size());
  return v;
}

// ---- ScramServer ----
// state_: 0 expecting client-first; 1 expecting client-final after gs2 header
// "n,,"; 2 the same after "y,,"; 3 done; -1 failed.

ScramServer::ScramServer(const ScramVerifier& verifier, std::string server_nonce)
    : verifier_(verifier), server_nonce_(std::move(server_nonce)) {
  if (server_nonce_.empty()) server_nonce_ = base64_encode(random_bytes(18));
}

ScramServer::Step ScramServer::client_first(std::string_view message, std::string& server_first,
                                            std::string& error) {
  if (state_ != 0) {
    error = "unexpected SCRAM client-first-message";
    state_ = -1;
    return Step::Fail;
  }
  state_ = -1;
  if (message.find('\0') != std::string_view::npos) {
    error = "malformed SCRAM message: client-first-message contains a NUL byte";
    return Step::Fail;
  }
  if (message.empty()) {
    error = "malformed SCRAM message: empty client-first-message";
    return Step::Fail;
  }
  const char flag = message[0];
  if (flag == 'p') {
    error = "channel binding is not supported: the client requested SCRAM-SHA-256-PLUS "
            "channel binding, but pgsluice only offers SCRAM-SHA-256";
    return Step::Fail;
  }
  if ((flag != 'n' && flag != 'y') || message.size() < 3 || message[1] != ',') {
    error = "malformed SCRAM message: unexpected channel-binding flag in client-first-message";
    return Step::Fail;
  }
  if (message.substr(2).starts_with("a=")) {
    error = "client uses SCRAM authorization identity, but it is not supported";
    return Step::Fail;
  }
  if (message[2] != ',') {
    error = "malformed SCRAM message: invalid GS2 header in client-first-message";
    return Step::Fail;
  }
  const std::string_view bare = message.substr(3);
  const auto parts = split_attributes(bare);
  std::string_view ignored_user;
  std::string_view client_nonce;
  if (parts[0].starts_with("m=")) {
    error = "client requires an unsupported SCRAM extension";
    return Step::Fail;
  }
  // The user name is ignored, as in PostgreSQL: the startup packet's user is authoritative.
  if (!attribute(parts[0], 'n', ignored_user)) {
    error = "malformed SCRAM message: expected attribute \"n\" in client-first-message";
    return Step::Fail;
  }
  if (parts.size() < 2 || !attribute(parts[1], 'r', client_nonce) || client_nonce.empty()) {
    error = "malformed SCRAM message: expected a nonce attribute \"r\" in client-first-message";
    return Step::Fail;
  }
  if (!is_printable(client_nonce)) {
    error = "malformed SCRAM message: non-printable characters in SCRAM nonce";
    return Step::Fail;
  }
  for (size_t i = 2; i < parts.size(); ++i) {
    if (!is_extension(parts[i])) {
      error = "malformed SCRAM message: garbage at end of client-first-message";
      return Step::Fail;
    }
  }
  client_first_bare_.assign(bare);
  combined_nonce_.assign(client_nonce);
  combined_nonce_.append(server_nonce_);
  server_first_ = "r=" + combined_nonce_ + ",s=" + base64_encode(verifier_.salt) +
                  ",i=" + std::to_string(verifier_.iterations);
  server_first = server_first_;
  state_ = flag == 'n' ? 1 : 2;
  return Step::Continue;
}

ScramServer::Step ScramServer::client_final(std::string_view message, std::string& server_final,
                                            std::string& error) {
  if (state_ != 1 && state_ != 2) {
    error = "unexpected SCRAM client-final-message";
    state_ = -1;
    return Step::Fail;
  }
  const std::string_view gs2_header = state_ == 1 ? "n,," : "y,,";
  state_ = -1;
  const auto parts = split_attributes(message);
  std::string_view cbind;
  std::string_view nonce;
  std::string_view proof_b64;
  if (!attribute(parts[0], 'c', cbind)) {
    error = "malformed SCRAM message: expected attribute \"c\" in client-final-message";
    return Step::Fail;
  }
  std::string cbind_raw;
  if (!base64_decode(cbind, cbind_raw) || cbind_raw != gs2_header) {
    error = "SCRAM channel binding check failed";
    return Step::Fail;
  }
  if (parts.size() < 2 || !attribute(parts[1], 'r', nonce)) {
    error = "malformed SCRAM message: expected attribute \"r\" in client-final-message";
    return Step::Fail;
  }
  if (nonce != combined_nonce_) {
    error = "SCRAM nonce mismatch";
    return Step::Fail;
  }
  if (parts.size() < 3 || !attribute(parts.back(), 'p', proof_b64)) {
    error = "malformed SCRAM message: expected a proof attribute \"p\" at the end of "
            "client-final-message";
    return Step::Fail;
  }
  for (size_t i = 2; i + 1 < parts.size(); ++i) {
    if (!is_extension(parts[i])) {
      error = "malformed SCRAM message: invalid attribute in client-final-message";
      return Step::Fail;
    }
  }
  std::string proof;
  if (!base64_decode(proof_b64, proof) || proof.size() != 32) {
    error = "malformed SCRAM message: invalid client proof";
    return Step::Fail;
  }
  const std::string_view without_proof =
      message.substr(0, message.size() - parts.back().size() - 1);
  std::string auth_message = client_first_bare_;
  auth_message.append(",").append(server_first_).append(",").append(without_proof);

  Key client_signature{};
  Key client_key{};
  Key stored_key{};
  Key server_signature{};
  if (!hmac_sha256(as_view(verifier_.stored_key), auth_message, client_signature)) {
    error = "SCRAM computation failed";
    return Step::Fail;
  }
  for (size_t i = 0; i < client_key.size(); ++i) {
    client_key[i] = static_cast<uint8_t>(static_cast<uint8_t>(proof[i]) ^ client_signature[i]);
  }
  const bool ok = sha256(as_view(client_key), stored_key) &&
                  secrets_equal(as_view(stored_key), as_view(verifier_.stored_key));
  OPENSSL_cleanse(client_key.data(), client_key.size());
  if (!ok) {
    error = "password authentication failed: SCRAM client proof does not match";
    return Step::Fail;
  }
  if (!hmac_sha256(as_view(verifier_.server_key), auth_message, server_signature)) {
    error = "SCRAM computation failed";
    return Step::Fail;
  }
  server_final = "v=" + base64_encode(as_view(server_signature));
  state_ = 3;
  return Step::Done;
}

// ---- ScramClient ----

ScramClient::ScramClient(std::string password, std::string client_nonce)
    : password_(std::move(password)), client_nonce_(std::move(client_nonce)) {
  if (client_nonce_.empty()) client_nonce_ = base64_encode(random_bytes(18));
}

std::string ScramClient::client_first() {
  // The user name is sent empty, as libpq does: the server takes it from the startup packet.
  client_first_bare_ = "n=,r=" + client_nonce_;
  auth_message_.clear();
  return "n,," + client_first_bare_;
}

bool ScramClient::server_first(std::string_view message, std::string& client_final,
                               std::string& error) {
  if (client_first_bare_.empty() || !auth_message_.empty()) {
    error = "unexpected SCRAM server-first-message";
    return false;
  }
  const auto parts = split_attributes(message);
  std::string_view nonce;
  std::string_view salt_b64;
  std::string_view iterations_text;
  if (parts[0].starts_with("m=")) {
    error = "server requires an unsupported SCRAM extension";
    return false;
  }
  if (!attribute(parts[0], 'r', nonce)) {
    error = "malformed SCRAM message: expected attribute \"r\" in server-first-message";
    return false;
  }
  if (nonce.size() <= client_nonce_.size() || !nonce.starts_with(client_nonce_) ||
      !is_printable(nonce)) {
    error = "invalid SCRAM response: server nonce does not start with the client nonce";
    return false;
  }
  std::string salt;
  if (parts.size() < 2 || !attribute(parts[1], 's', salt_b64) ||
      !base64_decode(salt_b64, salt) || salt.empty()) {
    error = "malformed SCRAM message: invalid salt in server-first-message";
    return false;
  }
  if (parts.size() < 3 || !attribute(parts[2], 'i', iterations_text)) {
    error = "malformed SCRAM message: expected attribute \"i\" in server-first-message";
    return false;
  }
  if (parts.size() > 3) {
    error = "malformed SCRAM message: garbage at end of server-first-message";
    return false;
  }
  int iterations = 0;
  bool digits = !iterations_text.empty() && iterations_text.size() <= 9;
  for (char c : iterations_text) {
    if (c < '0' || c > '9') {
      digits = false;
      break;
    }
    if (digits) iterations = iterations * 10 + (c - '0');
  }
  if (!digits || iterations < 1 || iterations > kMaxScramIterations) {
    error = "invalid SCRAM iteration count \"" + std::string(iterations_text) +
            "\": expected 1 to 10000000";
    return false;
  }

  Key salted{};
  Key client_key{};
  Key stored_key{};
  Key client_signature{};
  const std::string without_proof = "c=biws,r=" + std::string(nonce);  // biws = base64("n,,")
  std::string auth_message = client_first_bare_;
  auth_message.append(",").append(message).append(",").append(without_proof);
  const bool ok = salted_password(password_, salt, iterations, salted) &&
                  derive_keys(salted, client_key, stored_key, server_key_) &&
                  hmac_sha256(as_view(stored_key), auth_message, client_signature);
  OPENSSL_cleanse(salted.data(), salted.size());
  if (!ok) {
    OPENSSL_cleanse(client_key.data(), client_key.size());
    server_key_.fill(0);
    error = "SCRAM computation failed";
    return false;
  }
  Key proof{};
  for (size_t i = 0; i < proof.size(); ++i) {
    proof[i] = static_cast<uint8_t>(client_key[i] ^ client_signature[i]);
  }
  OPENSSL_cleanse(client_key.data(), client_key.size());
  client_final = without_proof + ",p=" + base64_encode(as_view(proof));
  auth_message_ = std::move(auth_message);
  return true;
}

bool ScramClient::server_final(std::string_view message, std::string& error) {
  if (auth_message_.empty()) {
    error = "unexpected SCRAM server-final-message";
    return false;
  }
  std::string auth_message = std::move(auth_message_);
  auth_message_.clear();  // one verification per exchange
  client_first_bare_.clear();
  std::string_view value;
  if (attribute(message, 'e', value)) {
    error = "server rejected SCRAM authentication: " + std::string(value);
    return false;
  }
  std::string signature;
  if (!attribute(message, 'v', value) || !base64_decode(value, signature) ||
      signature.size() != 32) {
    error = "malformed SCRAM message: invalid server-final-message";
    return false;
  }
  Key expected{};
  const bool ok = hmac_sha256(as_view(server_key_), auth_message, expected) &&
                  secrets_equal(signature, as_view(expected));
  OPENSSL_cleanse(server_key_.data(), server_key_.size());
  if (!ok) {
    error = "invalid SCRAM server signature: the server does not know the password";
    return false;
  }
  return true;
}

}  // namespace pgs::proto
