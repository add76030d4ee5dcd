// Logging in: parameter reporting, authentication failures, every auth method.
#include "harness.h"

namespace pgs::it {
namespace {

class Connect : public TargetTest {};

TEST_P(Connect, LoginReportsServerParameters) {
  ASSERT_TRUE(start_target(GetParam()));
  auto c = connect_bench();
  ASSERT_TRUE(c);
  EXPECT_NE(PQbackendPID(c.get()), 0);
  EXPECT_EQ(PQprotocolVersion(c.get()), 3);
  for (const char* name : {"server_version", "server_encoding", "client_encoding", "DateStyle",
                           "TimeZone", "integer_datetimes", "standard_conforming_strings",
                           "IntervalStyle", "is_superuser", "session_authorization"}) {
    EXPECT_NE(parameter_status(c.get(), name), "") << "no ParameterStatus for " << name;
  }
  EXPECT_EQ(parameter_status(c.get(), "server_version"),
            query_value(c.get(), "SHOW server_version"));
  EXPECT_EQ(parameter_status(c.get(), "session_authorization"), "bench");
  EXPECT_EQ(parameter_status(c.get(), "is_superuser"), "off");
  EXPECT_EQ(query_value(c.get(), "SELECT current_user || '@' || current_database()"), "bench@bench");
  EXPECT_EQ(PQtransactionStatus(c.get()), PQTRANS_IDLE);
}

TEST_P(Connect, ManySequentialConnections) {
  ASSERT_TRUE(start_target(GetParam()));
  for (int i = 0; i < 30; ++i) {
    auto c = connect_bench();
    ASSERT_TRUE(c) << "connection " << i;
    ASSERT_EQ(query_value(c.get(), "SELECT " + std::to_string(i)), std::to_string(i));
  }
}

TEST_P(Connect, WrongPasswordIsRejected) {
  ASSERT_TRUE(start_target(GetParam()));
  auto o = try_connect(conninfo("bench", "not-the-password"));
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.sqlstate, "28P01") << o.error;
  EXPECT_NE(o.error.find("password authentication failed"), std::string::npos) << o.error;
  // The failure leaves the target serving others.
  auto c = connect_bench();
  ASSERT_TRUE(c);
  EXPECT_EQ(query_value(c.get(), "SELECT 1"), "1");
}

TEST_P(Connect, UnknownUserIsRejected) {
  ASSERT_TRUE(start_target(GetParam()));
  auto o = try_connect(conninfo("nobody_here", "whatever"));
  ASSERT_FALSE(o.ok());
  // PostgreSQL does not reveal whether the user exists: same answer as a bad password.
  EXPECT_EQ(o.sqlstate, "28P01") << o.error;
}

TEST_P(Connect, UnknownDatabaseIsRejected) {
  ASSERT_TRUE(start_target(GetParam()));
  auto o = try_connect(conninfo("bench", "bench", "no_such_db"));
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.sqlstate, "3D000") << o.error;
  EXPECT_NE(o.error.find("no_such_db"), std::string::npos) << o.error;
}

TEST_P(Connect, SecondUserLogsIn) {
  ASSERT_TRUE(start_target(GetParam()));
  auto c = connect_or_fail(conninfo("app1", "app"));
  ASSERT_TRUE(c);
  EXPECT_EQ(query_value(c.get(), "SELECT current_user"), "app1");
  auto b = connect_bench();
  ASSERT_TRUE(b);
  EXPECT_EQ(query_value(b.get(), "SELECT current_user"), "bench");
  EXPECT_EQ(query_value(c.get(), "SELECT current_user"), "app1");
}

TEST_P(Connect, SslPreferFallsBackToPlaintext) {
  ASSERT_TRUE(start_target(GetParam()));
  auto c = connect_bench("sslmode=prefer");
  ASSERT_TRUE(c);
  EXPECT_EQ(PQsslInUse(c.get()), 0);
  EXPECT_EQ(query_value(c.get(), "SELECT 1"), "1");
  auto o = try_connect(conninfo("bench", "bench", "bench", "sslmode=require"));
  EXPECT_FALSE(o.ok()) << "sslmode=require must fail: no TLS is offered";
}

INSTANTIATE_TEST_SUITE_P(All, Connect,
                         ::testing::Values(Variant::Direct, Variant::Transaction, Variant::Session),
                         variant_name);

// ---- auth methods (pgsluice authenticates clients itself) ----

struct AuthCase {
  const char* method;
  int32_t expected_request;  // the Authentication code pgsluice asks the client for
};

void PrintTo(const AuthCase& c, std::ostream* os) { *os << c.method; }

class AuthMethod : public ::testing::TestWithParam<AuthCase>, public TargetHarness {
 protected:
  void TearDown() override { stop_target(); }
  bool start() {
    ConfigBuilder cfg;
    cfg.auth_method = GetParam().method;
    return start_target(Variant::Transaction, cfg);
  }
};

TEST_P(AuthMethod, LibpqLogsIn) {
  ASSERT_TRUE(start());
  for (const auto& [user, password] : {std::pair{"bench", "bench"}, std::pair{"app1", "app"}}) {
    auto c = connect_or_fail(conninfo(user, password));
    ASSERT_TRUE(c) << user;
    EXPECT_EQ(query_value(c.get(), "SELECT current_user"), user);
  }
}

TEST_P(AuthMethod, WrongPasswordRejectedUnlessTrust) {
  ASSERT_TRUE(start());
  auto o = try_connect(conninfo("bench", "wrong"));
  if (std::string(GetParam().method) == "trust") {
    EXPECT_TRUE(o.ok()) << o.error;
  } else {
    ASSERT_FALSE(o.ok());
    EXPECT_EQ(o.sqlstate, "28P01") << o.error;
    EXPECT_NE(o.error.find("password authentication failed"), std::string::npos) << o.error;
  }
}

TEST_P(AuthMethod, AsksForTheConfiguredMethod) {
  ASSERT_TRUE(start());
  RawSocket s;
  ASSERT_TRUE(s.connect("127.0.0.1", target_port()));
  ASSERT_TRUE(s.send_all(startup_packet({{"user", "bench"}, {"database", "bench"}})));
  auto m = s.read_message(5s);
  ASSERT_TRUE(m) << "no answer to the startup packet";
  ASSERT_EQ(m->type, 'R') << "body: " << m->body;
  ASSERT_GE(m->body.size(), 4u);
  EXPECT_EQ(static_cast<int32_t>(read_be32(m->body, 0)), GetParam().expected_request);
  if (GetParam().expected_request == 10) {
    EXPECT_NE(m->body.find("SCRAM-SHA-256"), std::string::npos);
  }
  if (GetParam().expected_request == 5) {
    EXPECT_EQ(m->body.size(), 8u) << "AuthenticationMD5Password carries a 4-byte salt";
  }
}

INSTANTIATE_TEST_SUITE_P(All, AuthMethod,
                         ::testing::Values(AuthCase{"trust", 0}, AuthCase{"password", 3},
                                           AuthCase{"md5", 5}, AuthCase{"scram-sha-256", 10}),
                         [](const ::testing::TestParamInfo<AuthCase>& p) {
                           std::string n = p.param.method;
                           for (char& ch : n)
                             if (ch == '-') ch = '_';
                           return n;
                         });

}  // namespace
}  // namespace pgs::it
