// The embedded dashboard: the bytes in the binary are the page in the source
// tree, and the page loads nothing from outside the machine it is served from.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/admin/dashboard.h"

namespace pgs::admin {
namespace {

const std::string kPagePath = std::string(PGSLUICE_SOURCE_DIR) + "/proxy/admin/dashboard.html";

std::string read_source_page() {
  std::ifstream in(kPagePath, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string lower(std::string_view s) {
  std::string r(s);
  std::transform(r.begin(), r.end(), r.begin(), [](unsigned char c) { return std::tolower(c); });
  return r;
}

// Every place where `page` makes the browser load something (src=, href=,
// srcset=, action=, CSS url( and @import, fetch( and import() from an
// absolute or protocol-relative URL, as "line N: <excerpt>".
std::vector<std::string> outside_references(std::string_view page) {
  const std::string text = lower(page);
  static constexpr std::string_view kLoaders[] = {"src=",    "href=",   "srcset=", "action=",
                                                  "url(",    "@import", "fetch(",  "import("};
  static constexpr std::string_view kAbsolute[] = {"http://", "https://", "//"};
  std::vector<std::string> found;
  for (std::string_view loader : kLoaders) {
    for (size_t at = text.find(loader); at != std::string::npos; at = text.find(loader, at + 1)) {
      size_t p = at + loader.size();
      while (p < text.size() && (std::isspace(static_cast<unsigned char>(text[p])) ||
                                 text[p] == '"' || text[p] == '\'' || text[p] == '`'))
        ++p;
      const std::string_view rest = std::string_view(text).substr(p);
      if (std::none_of(std::begin(kAbsolute), std::end(kAbsolute),
                       [&](std::string_view a) { return rest.starts_with(a); }))
        continue;
      const auto line = 1 + std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(at), '\n');
      found.push_back("line " + std::to_string(line) + ": " + std::string(page.substr(at, 80)));
    }
  }
  return found;
}

TEST(AdminDashboard, EmbeddedBytesAreTheSourcePage) {
  const std::string source = read_source_page();
  ASSERT_FALSE(source.empty()) << "cannot read " << kPagePath;
  const std::string_view embedded(kDashboardHtml, kDashboardHtmlSize);
  EXPECT_EQ(embedded.size(), source.size());
  EXPECT_TRUE(embedded == source) << "the build embedded a different " << kPagePath
                                  << "; rebuild, or check proxy/admin/embed.cmake";
  EXPECT_EQ(kDashboardHtml[kDashboardHtmlSize], '\0');
}

TEST(AdminDashboard, PageIsSelfContained) {
  const std::string page = read_source_page();
  ASSERT_FALSE(page.empty()) << "cannot read " << kPagePath;
  for (const std::string& ref : outside_references(page))
    ADD_FAILURE() << kPagePath << " loads something from outside the machine: " << ref;
  // What the page relies on being there.
  EXPECT_NE(page.find("api/status"), std::string::npos);
  EXPECT_NE(page.find("window.pgsluiceDashboard"), std::string::npos);
}

// The scan above would pass on anything if it never matched.
TEST(AdminDashboard, ScanFindsOutsideReferences) {
  EXPECT_EQ(outside_references(R"(<script src="https://cdn.example/x.js"></script>)").size(), 1u);
  EXPECT_EQ(outside_references(R"(<link rel=stylesheet href='//fonts.example/css'>)").size(), 1u);
  EXPECT_EQ(outside_references("body { background: URL( http://img.example/a.png ) }").size(), 1u);
  EXPECT_EQ(outside_references("@import 'https://x.example/a.css';").size(), 1u);
  EXPECT_EQ(outside_references("fetch(`https://api.example/status`)").size(), 1u);
  EXPECT_TRUE(outside_references(R"(<link rel="icon" href="data:,"> fetch('api/status'))").empty());
  EXPECT_TRUE(outside_references("see https://example.org in a comment").empty());
}

}  // namespace
}  // namespace pgs::admin
