// Session parameters: startup "options" parsing and the SQL that brings a
// pooled server connection to a client's settings.
#include <gtest/gtest.h>

#include "proxy/session_params.h"

namespace pgs {
namespace {

TEST(ParamList, NamesCompareCaseInsensitively) {
  ParamList p;
  p.set("DateStyle", "ISO");
  p.set("datestyle", "SQL");
  ASSERT_EQ(p.entries().size(), 1u);
  EXPECT_EQ(p.entries()[0].first, "DateStyle");  // first spelling kept
  ASSERT_NE(p.get("DATESTYLE"), nullptr);
  EXPECT_EQ(*p.get("DATESTYLE"), "SQL");
  EXPECT_TRUE(p.erase("DATESTYLE"));
  EXPECT_TRUE(p.empty());
}

TEST(ParamList, EqualityIgnoresOrder) {
  ParamList a, b;
  a.set("x", "1");
  a.set("y", "2");
  b.set("Y", "2");
  b.set("X", "1");
  EXPECT_TRUE(a == b);
  b.set("x", "3");
  EXPECT_FALSE(a == b);
}

TEST(StartupOptions, DashCForms) {
  ParamList p;
  std::string err;
  ASSERT_TRUE(parse_startup_options("-c search_path=foo,public -cwork_mem=7MB --geqo=off", p, err))
      << err;
  EXPECT_EQ(*p.get("search_path"), "foo,public");
  EXPECT_EQ(*p.get("work_mem"), "7MB");
  EXPECT_EQ(*p.get("geqo"), "off");
}

TEST(StartupOptions, BackslashEscapesSpaceAndDashesBecomeUnderscores) {
  ParamList p;
  std::string err;
  ASSERT_TRUE(parse_startup_options("-c application_name=my\\ app --statement-timeout=5s", p, err))
      << err;
  EXPECT_EQ(*p.get("application_name"), "my app");
  EXPECT_EQ(*p.get("statement_timeout"), "5s");
}

TEST(StartupOptions, RejectsWhatCannotFollowAClient) {
  ParamList p;
  std::string err;
  EXPECT_FALSE(parse_startup_options("-B 100", p, err));
  EXPECT_NE(err.find("-B"), std::string::npos);
  EXPECT_FALSE(parse_startup_options("-c", p, err));
  EXPECT_FALSE(parse_startup_options("-c novalue", p, err));
  EXPECT_FALSE(parse_startup_options("--=x", p, err));
}

TEST(StartupOptions, EmptyIsFine) {
  ParamList p;
  std::string err;
  EXPECT_TRUE(parse_startup_options("   ", p, err));
  EXPECT_TRUE(p.empty());
}

TEST(SyncQuery, NothingWhenEqual) {
  ParamList applied, wanted;
  applied.set("TimeZone", "UTC");
  wanted.set("timezone", "UTC");
  EXPECT_EQ(build_sync_query(applied, wanted), "");
}

TEST(SyncQuery, NothingWhenIdentical) {  // the fast path: same names, order and values
  ParamList applied, wanted;
  for (ParamList* p : {&applied, &wanted}) {
    p->set("TimeZone", "UTC");
    p->set("application_name", "app");
  }
  EXPECT_EQ(build_sync_query(applied, wanted), "");
  wanted.set("application_name", "other");
  EXPECT_EQ(build_sync_query(applied, wanted), "SELECT pg_catalog.set_config('application_name', 'other', false);");
}

TEST(SyncQuery, SetsDifferencesAndResetsLeftovers) {
  ParamList applied, wanted;
  applied.set("TimeZone", "UTC");
  applied.set("search_path", "foo");
  wanted.set("TimeZone", "Asia/Tokyo");
  wanted.set("application_name", "it's");
  std::string sql = build_sync_query(applied, wanted);
  EXPECT_EQ(sql,
            "SELECT pg_catalog.set_config('TimeZone', 'Asia/Tokyo', false), "
            "pg_catalog.set_config('application_name', 'it''s', false);"
            "RESET \"search_path\";");
}

TEST(SyncQuery, OnlyResets) {
  ParamList applied, wanted;
  applied.set("a\"b", "1");
  EXPECT_EQ(build_sync_query(applied, wanted), "RESET \"a\"\"b\";");
}

TEST(Quoting, BackslashesUseEscapeStringSyntax) {
  EXPECT_EQ(quote_literal("a\\b'c"), "E'a\\\\b''c'");
  EXPECT_EQ(quote_literal(""), "''");
  EXPECT_EQ(quote_identifier("x\"y"), "\"x\"\"y\"");
}

}  // namespace
}  // namespace pgs
