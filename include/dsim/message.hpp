// Values in error messages. A message names the value the user gave (a key, a
// --set text, a path), but that value can be any size: a 200 MB --set value
// must not become a 400 MB error line. Every message that repeats user text
// passes it through clip().
//
//   throw dsim::Error(fmt::format("unknown sync mode '{}'", dsim::clip(text)));
//   // unknown sync mode 'aaaaaaaa[60 characters in all]... (200000000 characters)'
//
// Header-only; no state.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace dsim {

// How many characters of a value a message keeps.
inline constexpr std::size_t kClipChars = 60;
// How many of another message wrapped in one (which may quote a value whole).
inline constexpr std::size_t kClipMessageChars = 200;

// `text` itself if it has at most `keep` characters (UTF-8 code points), else
// its first `keep` characters, "..." and how long it was:
// "abc... (5000 characters)". Never cuts a multi-byte character in two.
inline std::string clip(std::string_view text, std::size_t keep = kClipChars) {
  const auto continuation = [](char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; };
  std::size_t chars = 0;
  std::size_t cut = text.size();  // byte offset of character number `keep`
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (continuation(text[i])) continue;
    if (chars == keep) cut = i;
    ++chars;
  }
  if (chars <= keep) return std::string(text);
  std::string out(text.substr(0, cut));
  out += "... (";
  out += std::to_string(chars);
  out += " characters)";
  return out;
}

}  // namespace dsim
