// [proxy] max_client_connections.
#include <thread>

#include "harness.h"

namespace pgs::it {
namespace {

class Limits : public ProxyTest {};

TEST_F(Limits, MaxClientConnectionsRefusesTheFourth) {
  ConfigBuilder cfg;
  cfg.proxy_lines = {"max_client_connections = 3"};
  ASSERT_TRUE(start_proxy(cfg));
  std::vector<Conn> conns;
  for (int i = 0; i < 3; ++i) {
    conns.push_back(connect_bench());
    ASSERT_TRUE(conns.back()) << "connection " << i;
  }
  auto fourth = try_connect(conninfo());
  ASSERT_FALSE(fourth.ok()) << "a 4th client got in with max_client_connections = 3";
  EXPECT_EQ(fourth.sqlstate, "53300") << fourth.error;
  EXPECT_NE(fourth.error.find("max_client_connections"), std::string::npos) << fourth.error;
  for (size_t i = 0; i < conns.size(); ++i)
    EXPECT_EQ(query_value(conns[i].get(), "SELECT " + std::to_string(i)), std::to_string(i));
  // A refused client does not use up a slot, and a freed slot can be taken.
  auto fifth = try_connect(conninfo());
  EXPECT_FALSE(fifth.ok());
  conns.pop_back();
  bool reconnected = false;
  for (int i = 0; i < 50 && !reconnected; ++i) {  // the proxy notices the close asynchronously
    auto o = try_connect(conninfo());
    if (o.ok()) {
      reconnected = true;
      EXPECT_EQ(query_value(o.conn.get(), "SELECT 'again'"), "again");
      conns.push_back(std::move(o.conn));
    } else {
      std::this_thread::sleep_for(100ms);
    }
  }
  EXPECT_TRUE(reconnected) << "no slot came free after a client disconnected";
}

}  // namespace
}  // namespace pgs::it
