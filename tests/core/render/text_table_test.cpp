#include "qreport/core/render/text_table.h"

#include <gtest/gtest.h>

namespace qreport {
namespace {

TEST(TextTableTest, AlignsColumns) {
  TextTable table({{"name"}, {"n", Align::kRight}});
  table.AddRow({"conv1", "3"});
  table.AddRow({"fc", "120"});
  EXPECT_EQ(table.Render(),
            "name     n\n"
            "-----  ---\n"
            "conv1    3\n"
            "fc     120\n");
}

TEST(TextTableTest, ShortensTheWidestColumnToFit) {
  TextTable table({{"fqn"}, {"kind"}});
  table.AddRow({"features.denseblock4.denselayer16.conv2", "Conv2d"});
  const std::string out = table.Render(30);
  size_t begin = 0;
  while (begin < out.size()) {
    const size_t end = out.find('\n', begin);
    EXPECT_LE(DisplayWidth(out.substr(begin, end - begin)), 30u);
    begin = end + 1;
  }
  EXPECT_NE(out.find("features.denseblock4.\u2026"), std::string::npos) << out;
  EXPECT_NE(out.find("Conv2d"), std::string::npos);
}

TEST(TextTableTest, KeptColumnsShrinkLast) {
  TextTable table({{"fqn", Align::kLeft, /*keep=*/true}, {"note"}});
  table.AddRow({"features.1.conv.0.0", "a long note that can be cut"});
  const std::string out = table.Render(32);
  EXPECT_NE(out.find("features.1.conv.0.0  a long"), std::string::npos) << out;
  EXPECT_NE(out.find("\u2026"), std::string::npos) << out;
}

TEST(TextTableTest, DisplayWidthCountsCodePoints) {
  EXPECT_EQ(DisplayWidth("abc"), 3u);
  EXPECT_EQ(DisplayWidth("a\u2192b"), 3u);
  EXPECT_EQ(DisplayWidth(""), 0u);
}

TEST(TextTableTest, RowWithWrongCellCountIsABug) {
  TextTable table({{"a"}, {"b"}});
  EXPECT_ANY_THROW(table.AddRow({"only one"}));
}

}  // namespace
}  // namespace qreport
