#include "viz/page.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>

#include "viz/web_assets.hpp"

namespace dsim::viz {

std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        // Control characters other than tab and line breaks are not XML.
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r')
          out += "\xEF\xBF\xBD";  // U+FFFD
        else
          out += c;
    }
  }
  return out;
}

std::string_view inline_asset(std::string_view name, std::string_view closing) {
  const std::string_view text = web_asset(name);
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower.find(closing) != std::string::npos)
    throw std::logic_error(fmt::format("web asset {} holds '{}'", name, closing));
  return text;
}

std::string fill_template(std::string_view name,
                          const std::map<std::string, std::string_view>& values) {
  const std::string_view tmpl = web_asset(name);
  std::string out;
  std::size_t size = tmpl.size();
  for (const auto& [key, value] : values) size += value.size();
  out.reserve(size);
  std::size_t at = 0;
  while (true) {
    const std::size_t open = tmpl.find("{{", at);
    if (open == std::string_view::npos) break;
    const std::size_t close = tmpl.find("}}", open);
    if (close == std::string_view::npos) break;
    const auto it = values.find(std::string(tmpl.substr(open + 2, close - open - 2)));
    if (it == values.end())
      throw std::logic_error(
          fmt::format("{}: no value for {}", name, tmpl.substr(open, close + 2 - open)));
    out.append(tmpl.substr(at, open - at));
    out.append(it->second);
    at = close + 2;
  }
  out.append(tmpl.substr(at));
  return out;
}

}  // namespace dsim::viz
