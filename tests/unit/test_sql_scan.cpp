// The statement-head lexer that finds LISTEN in a query string: every quoting
// and comment form PostgreSQL has, and text cut off anywhere.
#include <gtest/gtest.h>

#include <string>

#include "proxy/sql_scan.h"

namespace pgs::sql {
namespace {

bool listens(std::string_view sql) { return some_statement_starts_with(sql, "LISTEN"); }

TEST(SqlScan, FindsTheKeywordAtTheHeadOfAnyStatement) {
  EXPECT_TRUE(listens("LISTEN x"));
  EXPECT_TRUE(listens("listen x"));
  EXPECT_TRUE(listens("  \n\tLiStEn \"x\";"));
  EXPECT_TRUE(listens("SELECT 1; LISTEN x"));
  EXPECT_TRUE(listens("SELECT 1;LISTEN x;SELECT 2"));
  EXPECT_TRUE(listens(";;LISTEN x"));
  EXPECT_TRUE(listens("/* a */ LISTEN x"));
  EXPECT_TRUE(listens("/* a /* nested */ still */ LISTEN x"));
  EXPECT_TRUE(listens("-- comment\nLISTEN x"));
  EXPECT_TRUE(listens("SELECT 'a;b'; LISTEN x"));
  EXPECT_TRUE(listens("SELECT $$ ; $$; LISTEN x"));
  EXPECT_TRUE(listens("SELECT $1; LISTEN x"));  // a parameter is no dollar quote
  EXPECT_TRUE(listens(std::string_view("LISTEN x\0", 9)));  // a Query body ends with its terminator
}

TEST(SqlScan, IgnoresTheKeywordAnywhereElse) {
  EXPECT_FALSE(listens(""));
  EXPECT_FALSE(listens(";"));
  EXPECT_FALSE(listens("SELECT 1"));
  EXPECT_FALSE(listens("UNLISTEN *"));
  EXPECT_FALSE(listens("LISTENER"));
  EXPECT_FALSE(listens("listen_to_me()"));
  EXPECT_FALSE(listens("listen$x"));
  EXPECT_FALSE(listens("SELECT listen FROM t"));
  EXPECT_FALSE(listens("SELECT 'x; LISTEN y'"));
  EXPECT_FALSE(listens("SELECT 'it''s; LISTEN y'"));
  EXPECT_FALSE(listens("SELECT E'\\'; LISTEN y'"));
  EXPECT_FALSE(listens("SELECT \"a;\"\" LISTEN\" FROM t"));
  EXPECT_FALSE(listens("SELECT $$; LISTEN y$$"));
  EXPECT_FALSE(listens("SELECT $tag$; LISTEN y $$ ; LISTEN z$tag$"));
  EXPECT_FALSE(listens("SELECT 1 /* ; LISTEN y */"));
  EXPECT_FALSE(listens("SELECT 1 /* /* ; */ LISTEN y */"));
  EXPECT_FALSE(listens("SELECT 1 -- ; LISTEN y"));
  EXPECT_FALSE(listens("NOTIFY listen; SELECT 2"));
  EXPECT_FALSE(listens("(LISTEN x)"));
}

TEST(SqlScan, UnterminatedConstructsSwallowTheRest) {
  EXPECT_FALSE(listens("SELECT 'open; LISTEN x"));
  EXPECT_FALSE(listens("SELECT \"open; LISTEN x"));
  EXPECT_FALSE(listens("SELECT $q$ open; LISTEN x"));
  EXPECT_FALSE(listens("SELECT 1 /* open; LISTEN x"));
  EXPECT_FALSE(listens("SELECT E'\\"));
  EXPECT_FALSE(listens("SELECT $"));
}

TEST(SqlScan, EveryPrefixOfAQueryScansSafely) {
  const std::string sql =
      "/* c /* n */ */ SELECT E'a\\'b', 'c''d', \"e\"\"f\", $t$ g $t$, $1 -- h\n; LISTEN x; SELECT 1";
  for (size_t n = 0; n <= sql.size(); ++n) {
    // Only the prefixes that reach past "LISTEN" can find it.
    bool found = listens(std::string_view(sql).substr(0, n));
    EXPECT_EQ(found, n >= sql.find("LISTEN") + 6) << "prefix of " << n << " bytes";
  }
}

}  // namespace
}  // namespace pgs::sql
