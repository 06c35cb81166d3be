// The page's template, style sheet and script: src/core/html/, compiled into the library by
// cmake/EmbedFiles.cmake so the binary needs no files beside it.
#ifndef QREPORT_SRC_CORE_RENDER_HTML_ASSETS_H_
#define QREPORT_SRC_CORE_RENDER_HTML_ASSETS_H_

#include <string_view>

namespace qreport::internal::html_assets {

std::string_view ReportHtml();  // report.html: the page with @@MARKERS@@ to fill
std::string_view ReportCss();   // report.css
std::string_view ReportJs();    // report.js

}  // namespace qreport::internal::html_assets

#endif  // QREPORT_SRC_CORE_RENDER_HTML_ASSETS_H_
