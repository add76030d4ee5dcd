// MD5, base64 and SCRAM-SHA-256 (RFC 7677 vectors) as server and client.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <string_view>

#include "protocol/auth.h"

namespace pgs::proto {
namespace {

// RFC 7677 section 3.
constexpr std::string_view kRfcClientNonce = "rOprNGfwEbeRWgbNEkqO";
constexpr std::string_view kRfcServerNonce = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
constexpr std::string_view kRfcSaltB64 = "W22ZaJ0SNY7soEsUEjb6gQ==";
constexpr std::string_view kRfcClientFirst = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
constexpr std::string_view kRfcServerFirst =
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
constexpr std::string_view kRfcClientFinal =
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
    "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
constexpr std::string_view kRfcServerFinal = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

// The same exchange with the empty user name pgsluice's client sends ("n=,r=...").
// Computed independently with Python's hashlib/hmac during development.
constexpr std::string_view kEmptyUserClientFinal =
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
    "p=qvT2SWdEH5Q06albL+hjSYuUhCG7VndFyzIb7CK4n9k=";
constexpr std::string_view kEmptyUserServerFinal = "v=3HO6Qt1M4MKJrmlKaoOqLAI0/0TV0HZe7J9H3MBtSOg=";

std::string b64d(std::string_view s) {
  std::string raw;
  EXPECT_TRUE(base64_decode(s, raw)) << s;
  return raw;
}

ScramVerifier rfc_verifier() { return make_scram_verifier("pencil", b64d(kRfcSaltB64), 4096); }

std::string key_b64(const std::array<uint8_t, 32>& k) {
  return base64_encode(std::string_view(reinterpret_cast<const char*>(k.data()), k.size()));
}

// ---- md5, base64, helpers ----

TEST(Auth, Md5KnownValues) {
  // python3: "md5" + md5(md5(b"secretpostgres").hexdigest().encode() + bytes([1,2,3,4])).hexdigest()
  EXPECT_EQ(md5_password_response("postgres", "secret", std::string_view("\x01\x02\x03\x04", 4)),
            "md5bb41a296aab6baccb36ff243a562abff");
  EXPECT_EQ(md5_password_response("", "", std::string_view("\xff\x00\x80\x7f", 4)),
            "md5914349703b2bcc281c23f272aa8ec549");
}

TEST(Auth, Base64KnownVectors) {
  // RFC 4648 section 10.
  const std::pair<std::string_view, std::string_view> vectors[] = {
      {"", ""},         {"f", "Zg=="},        {"fo", "Zm8="},        {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}};
  for (const auto& [raw, text] : vectors) {
    EXPECT_EQ(base64_encode(raw), text);
    std::string back = "garbage";
    ASSERT_TRUE(base64_decode(text, back)) << text;
    EXPECT_EQ(back, raw);
  }
}

TEST(Auth, Base64RoundTripsAllLengthsAndLargeInput) {
  std::mt19937 rng(99);
  for (size_t n = 0; n < 100; ++n) {
    std::string raw(n, '\0');
    for (char& c : raw) c = static_cast<char>(rng());
    const std::string text = base64_encode(raw);
    EXPECT_EQ(text.size(), (n + 2) / 3 * 4);
    std::string back;
    ASSERT_TRUE(base64_decode(text, back));
    EXPECT_EQ(back, raw);
  }
  // Larger than the internal chunk sizes, with and without padding.
  for (size_t n : {12288u, 12289u, 100000u, 100001u, 100002u}) {
    std::string raw(n, '\0');
    for (char& c : raw) c = static_cast<char>(rng());
    std::string back;
    ASSERT_TRUE(base64_decode(base64_encode(raw), back));
    EXPECT_EQ(back, raw);
  }
}

TEST(Auth, Base64RejectsInvalidInput) {
  const std::string_view bad[] = {
      "Zg",         "Zg=",       "Zg===",     "Z===",     "====",     "Zm9v\n",  " Zm9v",
      "Zm9v ",      "Zm=v",      "=Zm9",      "Zm9*",     "Zg==Zg==", "Zm9-",    "Zm9_",
      "Zh==",       "Zm9=",      "Zm8=Zm8=",  "\xff\xff\xff\xff",          "Zm9v=",  "A",
  };
  for (std::string_view text : bad) {
    std::string raw = "x";
    EXPECT_FALSE(base64_decode(text, raw)) << text;
  }
  std::string raw;
  EXPECT_FALSE(base64_decode(std::string_view("Zm\0v", 4), raw));
}

TEST(Auth, SecretsEqual) {
  EXPECT_TRUE(secrets_equal("", ""));
  EXPECT_TRUE(secrets_equal("abc", "abc"));
  EXPECT_FALSE(secrets_equal("abc", "abd"));
  EXPECT_FALSE(secrets_equal("abc", "ab"));
  EXPECT_FALSE(secrets_equal("", "a"));
}

TEST(Auth, RandomBytes) {
  EXPECT_TRUE(random_bytes(0).empty());
  const std::string a = random_bytes(32);
  const std::string b = random_bytes(32);
  EXPECT_EQ(a.size(), 32u);
  EXPECT_NE(a, b);
}

// ---- SCRAM verifier and server ----

TEST(AuthScram, VerifierFromRfcPassword) {
  const ScramVerifier v = rfc_verifier();
  EXPECT_EQ(v.iterations, 4096);
  EXPECT_EQ(base64_encode(v.salt), kRfcSaltB64);
  // python3: hashlib.pbkdf2_hmac / hmac / sha256 per RFC 5802.
  EXPECT_EQ(key_b64(v.stored_key), "WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=");
  EXPECT_EQ(key_b64(v.server_key), "wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=");
  const ScramVerifier random_salt = make_scram_verifier("pencil");
  EXPECT_EQ(random_salt.salt.size(), 16u);
  EXPECT_NE(random_salt.stored_key, v.stored_key);
}

TEST(AuthScram, ServerMatchesRfc7677) {
  ScramServer server(rfc_verifier(), std::string(kRfcServerNonce));
  std::string server_first, server_final, error;
  ASSERT_EQ(server.client_first(kRfcClientFirst, server_first, error), ScramServer::Step::Continue)
      << error;
  EXPECT_EQ(server_first, kRfcServerFirst);
  ASSERT_EQ(server.client_final(kRfcClientFinal, server_final, error), ScramServer::Step::Done)
      << error;
  EXPECT_EQ(server_final, kRfcServerFinal);
}

TEST(AuthScram, ServerRejectsWrongProof) {
  ScramServer server(make_scram_verifier("Pencil", b64d(kRfcSaltB64), 4096),
                     std::string(kRfcServerNonce));
  std::string out, error;
  ASSERT_EQ(server.client_first(kRfcClientFirst, out, error), ScramServer::Step::Continue);
  EXPECT_EQ(server.client_final(kRfcClientFinal, out, error), ScramServer::Step::Fail);
  EXPECT_NE(error.find("password"), std::string::npos) << error;
}

TEST(AuthScram, ServerRejectsTamperedProofNonceAndBinding) {
  struct Case {
    std::string_view final_message;
    std::string_view error_part;
  };
  const std::string tampered_proof =
      "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
      "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVc=";
  const std::string wrong_nonce =
      "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k1,"
      "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
  const std::string client_nonce_only =
      "c=biws,r=rOprNGfwEbeRWgbNEkqO,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
  const std::string wrong_binding =  // base64("y,,")
      "c=eSws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
      "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
  const std::string short_proof =
      "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzb";
  const std::string no_proof = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
  const std::string proof_not_last =
      "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
      "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=,x=1";
  const std::string order = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,c=biws,"
                            "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
  const Case cases[] = {
      {tampered_proof, "password"},
      {wrong_nonce, "nonce"},
      {client_nonce_only, "nonce"},
      {wrong_binding, "channel binding"},
      {short_proof, "proof"},
      {no_proof, "malformed"},
      {proof_not_last, "malformed"},
      {order, "malformed"},
      {"", "malformed"},
      {"c=", "channel binding"},
  };
  for (const Case& c : cases) {
    ScramServer server(rfc_verifier(), std::string(kRfcServerNonce));
    std::string out, error;
    ASSERT_EQ(server.client_first(kRfcClientFirst, out, error), ScramServer::Step::Continue);
    EXPECT_EQ(server.client_final(c.final_message, out, error), ScramServer::Step::Fail)
        << c.final_message;
    EXPECT_NE(error.find(c.error_part), std::string::npos) << c.final_message << ": " << error;
    // A failed exchange stays failed.
    EXPECT_EQ(server.client_final(kRfcClientFinal, out, error), ScramServer::Step::Fail);
  }
}

TEST(AuthScram, ServerIgnoresUserNameAndExtensions) {
  for (std::string_view first : {"n,,n=,r=rOprNGfwEbeRWgbNEkqO",
                                 "n,,n=someone=2Celse,r=rOprNGfwEbeRWgbNEkqO",
                                 "n,,n=user,r=rOprNGfwEbeRWgbNEkqO,x=ext"}) {
    ScramServer server(rfc_verifier(), std::string(kRfcServerNonce));
    std::string out, error;
    EXPECT_EQ(server.client_first(first, out, error), ScramServer::Step::Continue)
        << first << ": " << error;
    EXPECT_EQ(out, kRfcServerFirst);
  }
}

TEST(AuthScram, ServerRejectsChannelBindingAndMalformedClientFirst) {
  {
    ScramServer server(rfc_verifier(), std::string(kRfcServerNonce));
    std::string out, error;
    EXPECT_EQ(server.client_first("p=tls-server-end-point,,n=,r=abc", out, error),
              ScramServer::Step::Fail);
    EXPECT_NE(error.find("channel binding is not supported"), std::string::npos) << error;
  }
  const std::string_view bad[] = {
      "",
      "n",
      "n,",
      "n,,",
      "x,,n=,r=abc",
      "n,a=admin,n=,r=abc",
      "n,,r=abc",
      "n,,n=,",
      "n,,n=,r=",
      "n,,n=,s=abc",
      "n,,m=ext,n=,r=abc",
      "n,,n=,r=ab,c",
      "n,,n=,r=ab c",
      "n,,n=,r=abc,1",
      "n;,n=,r=abc",
      "nn,n=,r=abc",
  };
  for (std::string_view first : bad) {
    ScramServer server(rfc_verifier(), std::string(kRfcServerNonce));
    std::string out, error;
    EXPECT_EQ(server.client_first(first, out, error), ScramServer::Step::Fail) << first;
    EXPECT_FALSE(error.empty()) << first;
    // No client-final is accepted after a failed client-first.
    EXPECT_EQ(server.client_final(kRfcClientFinal, out, error), ScramServer::Step::Fail);
  }
  ScramServer server(rfc_verifier(), std::string(kRfcServerNonce));
  std::string out, error;
  EXPECT_EQ(server.client_first(std::string("n,,n=,r=ab\0c", 12), out, error),
            ScramServer::Step::Fail);
}

TEST(AuthScram, ServerOrderOfSteps) {
  ScramServer server(rfc_verifier(), std::string(kRfcServerNonce));
  std::string out, error;
  EXPECT_EQ(server.client_final(kRfcClientFinal, out, error), ScramServer::Step::Fail);
  ScramServer twice(rfc_verifier(), std::string(kRfcServerNonce));
  ASSERT_EQ(twice.client_first(kRfcClientFirst, out, error), ScramServer::Step::Continue);
  EXPECT_EQ(twice.client_first(kRfcClientFirst, out, error), ScramServer::Step::Fail);
  ScramServer done(rfc_verifier(), std::string(kRfcServerNonce));
  ASSERT_EQ(done.client_first(kRfcClientFirst, out, error), ScramServer::Step::Continue);
  ASSERT_EQ(done.client_final(kRfcClientFinal, out, error), ScramServer::Step::Done);
  EXPECT_EQ(done.client_final(kRfcClientFinal, out, error), ScramServer::Step::Fail);
}

TEST(AuthScram, ServerChannelBindingFlagY) {
  // 'y': the client supports channel binding but thinks the server does not.
  ScramServer server(rfc_verifier());
  ScramClient client("pencil");
  std::string first = client.client_first();
  ASSERT_EQ(first.substr(0, 3), "n,,");
  first[0] = 'y';
  std::string server_first, client_final, server_final, error;
  ASSERT_EQ(server.client_first(first, server_first, error), ScramServer::Step::Continue) << error;
  ASSERT_TRUE(client.server_first(server_first, client_final, error)) << error;
  // The client's c=biws (for "n,,") no longer matches the "y,," header.
  EXPECT_EQ(server.client_final(client_final, server_final, error), ScramServer::Step::Fail);
  EXPECT_NE(error.find("channel binding"), std::string::npos) << error;
}

// ---- SCRAM client ----

TEST(AuthScram, ClientAgainstRfcServerFirst) {
  ScramClient client("pencil", std::string(kRfcClientNonce));
  EXPECT_EQ(client.client_first(), "n,,n=,r=rOprNGfwEbeRWgbNEkqO");
  std::string client_final, error;
  ASSERT_TRUE(client.server_first(kRfcServerFirst, client_final, error)) << error;
  EXPECT_EQ(client_final, kEmptyUserClientFinal);
  EXPECT_TRUE(client.server_final(kEmptyUserServerFinal, error)) << error;
}

TEST(AuthScram, ClientAndServerTogether) {
  for (int i = 0; i < 3; ++i) {
    ScramServer server(make_scram_verifier("correct horse", {}, 4096));
    ScramClient client("correct horse");
    std::string server_first, client_final, server_final, error;
    ASSERT_EQ(server.client_first(client.client_first(), server_first, error),
              ScramServer::Step::Continue)
        << error;
    ASSERT_TRUE(client.server_first(server_first, client_final, error)) << error;
    ASSERT_EQ(server.client_final(client_final, server_final, error), ScramServer::Step::Done)
        << error;
    EXPECT_TRUE(client.server_final(server_final, error)) << error;
  }
  // With the RFC verifier and nonce, through the real client.
  ScramServer server(rfc_verifier(), std::string(kRfcServerNonce));
  ScramClient client("pencil", std::string(kRfcClientNonce));
  std::string server_first, client_final, server_final, error;
  ASSERT_EQ(server.client_first(client.client_first(), server_first, error),
            ScramServer::Step::Continue);
  EXPECT_EQ(server_first, kRfcServerFirst);
  ASSERT_TRUE(client.server_first(server_first, client_final, error)) << error;
  EXPECT_EQ(client_final, kEmptyUserClientFinal);
  ASSERT_EQ(server.client_final(client_final, server_final, error), ScramServer::Step::Done);
  EXPECT_EQ(server_final, kEmptyUserServerFinal);
  EXPECT_TRUE(client.server_final(server_final, error)) << error;
}

TEST(AuthScram, EmptyPasswordWorks) {
  ScramServer server(make_scram_verifier("", {}, 16));
  ScramClient client("");
  std::string server_first, client_final, server_final, error;
  ASSERT_EQ(server.client_first(client.client_first(), server_first, error),
            ScramServer::Step::Continue);
  ASSERT_TRUE(client.server_first(server_first, client_final, error)) << error;
  ASSERT_EQ(server.client_final(client_final, server_final, error), ScramServer::Step::Done);
  EXPECT_TRUE(client.server_final(server_final, error)) << error;
}

TEST(AuthScram, ClientWrongPasswordFailsAtServer) {
  ScramServer server(make_scram_verifier("right", {}, 4096));
  ScramClient client("wrong");
  std::string server_first, client_final, server_final, error;
  ASSERT_EQ(server.client_first(client.client_first(), server_first, error),
            ScramServer::Step::Continue);
  ASSERT_TRUE(client.server_first(server_first, client_final, error)) << error;
  EXPECT_EQ(server.client_final(client_final, server_final, error), ScramServer::Step::Fail);
  EXPECT_TRUE(server_final.empty());
}

TEST(AuthScram, ClientDetectsServerThatDoesNotKnowThePassword) {
  // A server with a different verifier produces a signature the client must refuse,
  // even if it claims success.
  ScramClient client("pencil", std::string(kRfcClientNonce));
  client.client_first();
  std::string client_final, error;
  ASSERT_TRUE(client.server_first(kRfcServerFirst, client_final, error));
  EXPECT_FALSE(client.server_final(kRfcServerFinal, error));  // right server, wrong auth message
  EXPECT_FALSE(error.empty());
}

TEST(AuthScram, ClientRejectsTamperedServerFinal) {
  const std::string_view bad[] = {
      "v=3HO6Qt1M4MKJrmlKaoOqLAI0/0TV0HZe7J9H3MBtSOh=",  // one bit off (non-canonical)
      "v=4HO6Qt1M4MKJrmlKaoOqLAI0/0TV0HZe7J9H3MBtSOg=",  // first byte changed
      "v=3HO6Qt1M4MKJrmlKaoOqLAI0/0TV0HZe7J9H3MBt",      // truncated
      "v=",
      "",
      "x=3HO6Qt1M4MKJrmlKaoOqLAI0/0TV0HZe7J9H3MBtSOg=",
      "v=3HO6Qt1M4MKJrmlKaoOqLAI0/0TV0HZe7J9H3MBtSOg=,x=1",
      "e=invalid-proof",
  };
  for (std::string_view final_message : bad) {
    ScramClient client("pencil", std::string(kRfcClientNonce));
    client.client_first();
    std::string client_final, error;
    ASSERT_TRUE(client.server_first(kRfcServerFirst, client_final, error));
    EXPECT_FALSE(client.server_final(final_message, error)) << final_message;
    EXPECT_FALSE(error.empty());
    // The real signature is not accepted after a failure either.
    EXPECT_FALSE(client.server_final(kEmptyUserServerFinal, error));
  }
  ScramClient client("pencil", std::string(kRfcClientNonce));
  client.client_first();
  std::string client_final, error;
  ASSERT_TRUE(client.server_first(kRfcServerFirst, client_final, error));
  EXPECT_FALSE(client.server_final("e=invalid-proof", error));
  EXPECT_NE(error.find("invalid-proof"), std::string::npos) << error;
}

TEST(AuthScram, ClientRejectsBadServerFirst) {
  const std::string_view bad[] = {
      // Nonce does not start with ours.
      "r=XOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
      // No server part.
      "r=rOprNGfwEbeRWgbNEkqO,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
      // Shorter than ours.
      "r=rOprNG,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
      "r=rOprNGfwEbeRWgbNEkqO%hvY,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=0",
      "r=rOprNGfwEbeRWgbNEkqO%hvY,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=10000001",
      "r=rOprNGfwEbeRWgbNEkqO%hvY,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=99999999999999999999",
      "r=rOprNGfwEbeRWgbNEkqO%hvY,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=-1",
      "r=rOprNGfwEbeRWgbNEkqO%hvY,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=40a",
      "r=rOprNGfwEbeRWgbNEkqO%hvY,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=",
      "r=rOprNGfwEbeRWgbNEkqO%hvY,s=W22ZaJ0SNY7soEsUEjb6gQ==",
      "r=rOprNGfwEbeRWgbNEkqO%hvY,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,x=1",
      "r=rOprNGfwEbeRWgbNEkqO%hvY,s=not base64,i=4096",
      "r=rOprNGfwEbeRWgbNEkqO%hvY,s=,i=4096",
      "r=rOprNGfwEbeRWgbNEkqO%hvY,i=4096,s=W22ZaJ0SNY7soEsUEjb6gQ==",
      "m=ext,r=rOprNGfwEbeRWgbNEkqO%hvY,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
      "s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
      "",
      "e=other-error",
  };
  for (std::string_view first : bad) {
    ScramClient client("pencil", std::string(kRfcClientNonce));
    client.client_first();
    std::string client_final, error;
    EXPECT_FALSE(client.server_first(first, client_final, error)) << first;
    EXPECT_FALSE(error.empty()) << first;
  }
  ScramClient client("pencil", std::string(kRfcClientNonce));
  client.client_first();
  std::string client_final, error;
  EXPECT_FALSE(client.server_first(std::string("r=rOprNGfwEbeRWgbNEkqO\x01x,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=1"),
                                   client_final, error));
}

TEST(AuthScram, ClientOrderOfSteps) {
  std::string client_final, error;
  ScramClient no_first("pencil", std::string(kRfcClientNonce));
  EXPECT_FALSE(no_first.server_first(kRfcServerFirst, client_final, error));
  EXPECT_FALSE(no_first.server_final(kEmptyUserServerFinal, error));

  ScramClient client("pencil", std::string(kRfcClientNonce));
  client.client_first();
  EXPECT_FALSE(client.server_final(kEmptyUserServerFinal, error));  // before server-first
  ASSERT_TRUE(client.server_first(kRfcServerFirst, client_final, error)) << error;
  EXPECT_FALSE(client.server_first(kRfcServerFirst, client_final, error));  // twice
  EXPECT_TRUE(client.server_final(kEmptyUserServerFinal, error)) << error;
  EXPECT_FALSE(client.server_final(kEmptyUserServerFinal, error));  // twice
}

TEST(AuthScram, RandomNoncesArePrintableAndDistinct) {
  ScramClient a("x");
  ScramClient b("x");
  const std::string fa = a.client_first();
  const std::string fb = b.client_first();
  EXPECT_NE(fa, fb);
  ASSERT_EQ(fa.substr(0, 8), "n,,n=,r=");
  EXPECT_EQ(fa.size(), 8u + 24);  // base64 of 18 bytes
  ScramServer server(make_scram_verifier("x", "salt", 1));
  std::string server_first, error;
  ASSERT_EQ(server.client_first(fa, server_first, error), ScramServer::Step::Continue);
  EXPECT_EQ(server_first.find("r=" + fa.substr(8)), 0u);
  EXPECT_EQ(server_first.size(), 2 + 24 + 24 + std::string(",s=c2FsdA==,i=1").size());
}

TEST(AuthScram, RandomGarbageNeverCrashes) {
  std::mt19937 rng(2024);
  const std::string alphabet = "nyp,=rcsivem abcXYZ019+/%\x01";
  const ScramVerifier v = make_scram_verifier("pw", "salt", 1);
  for (int iter = 0; iter < 3000; ++iter) {
    std::string garbage(rng() % 40, '\0');
    for (char& c : garbage) c = alphabet[rng() % alphabet.size()];
    std::string out, error;
    ScramServer server(v, "SRV");
    (void)server.client_first(garbage, out, error);
    (void)server.client_final(garbage, out, error);
    ScramServer server2(v, "SRV");
    if (server2.client_first("n,,n=,r=abc", out, error) == ScramServer::Step::Continue) {
      EXPECT_EQ(server2.client_final(garbage, out, error), ScramServer::Step::Fail);
    }
    ScramClient client("pw", "abc");
    client.client_first();
    std::string final_message;
    if (client.server_first(garbage, final_message, error)) {
      EXPECT_FALSE(client.server_final(garbage, error));
    }
    ScramClient client2("pw", "abc");
    client2.client_first();
    ASSERT_TRUE(client2.server_first("r=abcdef,s=c2FsdA==,i=1", final_message, error)) << error;
    EXPECT_FALSE(client2.server_final(garbage, error));
  }
}

}  // namespace
}  // namespace pgs::proto
