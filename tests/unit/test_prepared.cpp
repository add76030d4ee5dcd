// The pure parts of prepared-statement tracking: interning by content, the
// per-server LRU, message splitting and building, DEALLOCATE / DISCARD.
#include <gtest/gtest.h>

#include <string>

#include "protocol/byte_reader.h"
#include "proxy/prepared.h"

namespace pgs::prepared {
namespace {

std::string content(std::string_view query, int oids = 0) {
  std::string c(query);
  c.push_back('\0');
  c.push_back(static_cast<char>(oids >> 8));
  c.push_back(static_cast<char>(oids & 0xff));
  for (int i = 0; i < oids; ++i) c.append("\0\0\0\x17", 4);
  return c;
}

TEST(PreparedRegistry, EqualContentIsOneStatementWhileReferenced) {
  Registry r;
  StatementRef a = r.intern(content("SELECT 1"));
  StatementRef b = r.intern(content("SELECT 1"));
  StatementRef c = r.intern(content("SELECT 1", 1));  // other parameter types: another statement
  EXPECT_EQ(a, b);
  EXPECT_NE(a->id, c->id);
  EXPECT_EQ(a->server_name, "pgsluice_" + std::to_string(a->id));
  uint64_t old = a->id;
  a.reset();
  b.reset();
  StatementRef again = r.intern(content("SELECT 1"));
  EXPECT_NE(again->id, old);  // forgotten once nobody held it: a fresh name
}

TEST(PreparedServerCache, LeastRecentlyUsedGoesFirst) {
  Registry r;
  ServerCache cache;
  StatementRef s1 = r.intern(content("1")), s2 = r.intern(content("2")), s3 = r.intern(content("3"));
  EXPECT_FALSE(cache.add(s1, 2).has_value());
  EXPECT_FALSE(cache.add(s2, 2).has_value());
  cache.touch(s1->id);
  auto evicted = cache.add(s3, 2);
  ASSERT_TRUE(evicted.has_value());
  EXPECT_EQ((*evicted)->id, s2->id);
  EXPECT_TRUE(cache.contains(s1->id));
  EXPECT_TRUE(cache.contains(s3->id));
  EXPECT_FALSE(cache.add(s3, 2).has_value());  // already there
  cache.erase(s1->id);
  EXPECT_EQ(cache.size(), 1u);
  cache.clear();
  EXPECT_EQ(cache.size(), 0u);
}

TEST(PreparedMessages, ParseSplitsAndRebuilds) {
  std::string body = std::string("s1\0", 3) + content("SELECT $1", 1);
  std::string_view name, c;
  ASSERT_TRUE(split_parse(body, name, c));
  EXPECT_EQ(name, "s1");
  EXPECT_EQ(c, content("SELECT $1", 1));
  std::string out;
  write_parse(out, "pgsluice_9", c);
  EXPECT_EQ(out[0], 'P');
  EXPECT_EQ(proto::load_be32(out.data() + 1), out.size() - 1);
  EXPECT_EQ(out.substr(5), std::string("pgsluice_9\0", 11) + content("SELECT $1", 1));
  EXPECT_FALSE(split_parse(std::string("s1\0SELECT 1\0\0\x01", 14), name, c));  // one OID announced, none given
  EXPECT_FALSE(split_parse("s1", name, c));
}

TEST(PreparedMessages, BindNamesFromAPrefix) {
  std::string body = std::string("p\0s1\0", 5) + std::string("\0\0\0\x01\0\0\0\x01" "7\0\0", 11);
  std::string_view portal, statement;
  size_t end = 0;
  bool complete = false;
  for (size_t cut = 0; cut < 5; ++cut) {
    ASSERT_TRUE(split_bind_prefix(std::string_view(body).substr(0, cut), portal, statement, end, complete));
    EXPECT_FALSE(complete) << cut;
  }
  ASSERT_TRUE(split_bind_prefix(body, portal, statement, end, complete));
  ASSERT_TRUE(complete);
  EXPECT_EQ(portal, "p");
  EXPECT_EQ(statement, "s1");
  EXPECT_EQ(end, 5u);
  std::string out;
  write_bind_head(out, portal, "pgsluice_12", body.size() - end);
  out += body.substr(end);
  EXPECT_EQ(proto::load_be32(out.data() + 1), out.size() - 1);
  EXPECT_EQ(out.substr(5, 14), std::string("p\0pgsluice_12\0", 14));
}

TEST(PreparedMessages, DescribeAndCloseTargets) {
  char kind = 0;
  std::string_view name;
  const std::string describe_s1("Ss1\0", 4);  // name points into it
  ASSERT_TRUE(split_target(describe_s1, kind, name));
  EXPECT_EQ(kind, 'S');
  EXPECT_EQ(name, "s1");
  EXPECT_FALSE(split_target(std::string("Xs1\0", 4), kind, name));
  EXPECT_FALSE(split_target("Ss1", kind, name));
  std::string out;
  write_target(out, 'C', 'S', "pgsluice_3");
  EXPECT_EQ(out, std::string("C\0\0\0\x10Spgsluice_3\0", 17));
}

TEST(PreparedSql, DeallocateAndDiscard) {
  std::string name;
  EXPECT_EQ(classify_query("DEALLOCATE s1", name), SqlCommand::Deallocate);
  EXPECT_EQ(name, "s1");
  EXPECT_EQ(classify_query("  deallocate prepare S1 ; ", name), SqlCommand::Deallocate);
  EXPECT_EQ(name, "s1");  // unquoted: folded
  EXPECT_EQ(classify_query("DEALLOCATE \"My\"\"S\"", name), SqlCommand::Deallocate);
  EXPECT_EQ(name, "My\"S");
  EXPECT_EQ(classify_query("DEALLOCATE prepare", name), SqlCommand::Deallocate);
  EXPECT_EQ(name, "prepare");  // a statement called "prepare"
  EXPECT_EQ(classify_query("DEALLOCATE ALL", name), SqlCommand::DeallocateAll);
  EXPECT_EQ(classify_query("deallocate prepare all;", name), SqlCommand::DeallocateAll);
  EXPECT_EQ(classify_query("DISCARD ALL", name), SqlCommand::DiscardAll);
  EXPECT_EQ(classify_query("DISCARD PLANS", name), SqlCommand::Other);
  EXPECT_EQ(classify_query("DEALLOCATE a; SELECT 1", name), SqlCommand::Other);
  EXPECT_EQ(classify_query("SELECT 1", name), SqlCommand::Other);
  EXPECT_EQ(classify_query("", name), SqlCommand::Other);
  EXPECT_EQ(classify_query("DEALLOCATE \"unterminated", name), SqlCommand::Other);
}

}  // namespace
}  // namespace pgs::prepared
