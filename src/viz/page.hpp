// What the report and the dashboard pages share: embedded web files inlined
// into <script>/<style>, templates with {{name}} markers, and text escaped
// for HTML/XML (svg_chart.cpp uses it too).
//
// Thread safety: pure functions of their arguments and the embedded
// constants; call from any thread.
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace dsim::viz {

// Text as XML/HTML character data or attribute value: & < > " ' escaped,
// control characters other than tab and line breaks replaced by U+FFFD.
std::string xml_escape(std::string_view text);
inline std::string html_escape(std::string_view text) { return xml_escape(text); }

// The embedded file `name` (web_assets.hpp), to go inside an element that
// `closing` ends ("</script", "</style"). Throws std::logic_error when the
// file holds `closing` (in any case): it would end the element early.
std::string_view inline_asset(std::string_view name, std::string_view closing);

// The embedded template `name` with every {{key}} replaced by its value, in
// one pass (a value is never scanned for markers). Throws std::logic_error
// naming the template and the marker when a marker has no value.
std::string fill_template(std::string_view name,
                          const std::map<std::string, std::string_view>& values);

}  // namespace dsim::viz
