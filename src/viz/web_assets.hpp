// The web files compiled into dsim (cmake/embed_web.cmake): every file of
// web/src/ and the vendored npm files (uPlot), by file name. The report
// inlines them into one page; a dashboard serves or inlines them the same way.
//
//   std::string_view js = dsim::viz::web_asset("uPlot.iife.min.js");
//
// Thread safety: the data are constants; call from any thread.
#pragma once

#include <string_view>
#include <vector>

namespace dsim::viz {

// The file's bytes (static storage, never freed). Throws std::out_of_range
// naming `name` when no such file was embedded (a build mistake, not input).
std::string_view web_asset(std::string_view name);

// Every embedded name, in the generated order (web/src/ sorted, then vendor).
std::vector<std::string_view> web_asset_names();

}  // namespace dsim::viz
