// Distribution: parsing of "name(args)" text, sampling from an entity's own
// Random, and the canonical text form.
//
// Parameters in a_ by kind (the order of positional arguments):
//   const       value
//   exp         mean
//   uniform     min, max
//   normal      mean, sd
//   lognormal   mu, sigma
//   erlang      k, mean        (mean of the sum, not of one phase)
//   gamma       shape, scale
//   weibull     shape, scale
//   triangular  min, mode, max
#include "dsim/distribution.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "dsim/types.hpp"

namespace dsim {
namespace {

using Kind = Distribution::Kind;

// One parameter slot: its name and an alternative name that may be given
// instead; `reciprocal` stores 1/value (a rate given for a mean or scale).
struct Slot {
  std::string_view name;
  std::string_view alias = {};
  bool reciprocal = false;
};

struct KindInfo {
  Kind kind;
  std::string_view name;
  std::size_t count;  // slots used
  std::array<Slot, 3> slots;
};

constexpr std::array<KindInfo, 9> kKinds = {{
    {Kind::kExponential, "exp", 1, {{{"mean", "rate", true}}}},
    {Kind::kUniform, "uniform", 2, {{{"min"}, {"max"}}}},
    {Kind::kConst, "const", 1, {{{"value"}}}},
    {Kind::kNormal, "normal", 2, {{{"mean"}, {"sd", "stddev", false}}}},
    {Kind::kLognormal, "lognormal", 2, {{{"mu"}, {"sigma"}}}},
    {Kind::kErlang, "erlang", 2, {{{"k"}, {"mean"}}}},
    {Kind::kGamma, "gamma", 2, {{{"shape"}, {"scale", "rate", true}}}},
    {Kind::kWeibull, "weibull", 2, {{{"shape"}, {"scale"}}}},
    {Kind::kTriangular, "triangular", 3, {{{"min"}, {"mode"}, {"max"}}}},
}};

const KindInfo& info(Kind kind) {
  for (const auto& k : kKinds)
    if (k.kind == kind) return k;
  throw Error("internal: distribution kind without a table entry");
}

std::string known_names() {
  std::string out;
  for (const auto& k : kKinds) {
    if (!out.empty()) out += ", ";
    out += k.name;
  }
  return out;
}

// Shortest text that reads back as the same double.
std::string format_number(double v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  if (ec != std::errc()) return std::to_string(v);
  return std::string(buf, end);
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool is_ident_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// Reads a whole token as a finite double; nullopt if it is not one.
std::optional<double> to_number(std::string_view token) {
  if (!token.empty() && token.front() == '+') token.remove_prefix(1);
  if (token.empty() || token.front() == '+') return std::nullopt;
  double v = 0;
  auto [ptr, ec] = std::from_chars(token.data(), token.data() + token.size(), v);
  if (ec != std::errc() || ptr != token.data() + token.size() || !std::isfinite(v))
    return std::nullopt;
  return v;
}

// One argument as written: `name` empty when positional; `value` is the raw
// text up to the next ',' or ')', whitespace trimmed.
struct RawArg {
  std::string_view name;
  std::string_view value;
};

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  Distribution::Kind kind = Kind::kConst;
  std::array<double, 3> params{};

  void run();

 private:
  [[noreturn]] void fail_syntax(const std::string& what) const {
    throw Error(what + " in distribution '" + std::string(text_) + "'");
  }
  void skip_space() {
    while (pos_ < text_.size() && is_space(text_[pos_])) ++pos_;
  }
  std::string_view ident() {
    const std::size_t begin = pos_;
    while (pos_ < text_.size() && is_ident_char(text_[pos_])) ++pos_;
    return text_.substr(begin, pos_ - begin);
  }
  std::string_view trimmed(std::size_t begin, std::size_t end) const {
    while (begin < end && is_space(text_[begin])) ++begin;
    while (end > begin && is_space(text_[end - 1])) --end;
    return text_.substr(begin, end - begin);
  }
  std::vector<RawArg> arguments();
  void assign(const KindInfo& k, const std::vector<RawArg>& args);

  std::string_view text_;
  std::size_t pos_ = 0;
};

std::vector<RawArg> Parser::arguments() {
  // pos_ is just past '('.
  std::vector<RawArg> args;
  skip_space();
  if (pos_ < text_.size() && text_[pos_] == ')') {
    ++pos_;
    return args;
  }
  for (;;) {
    const std::size_t begin = pos_;
    while (pos_ < text_.size() && text_[pos_] != ',' && text_[pos_] != ')' && text_[pos_] != '(')
      ++pos_;
    if (pos_ >= text_.size()) fail_syntax("missing ')'");
    if (text_[pos_] == '(') fail_syntax("unexpected '('");
    const std::string_view piece = trimmed(begin, pos_);
    RawArg arg;
    if (const auto eq = piece.find('='); eq != std::string_view::npos) {
      arg.name = trimmed(static_cast<std::size_t>(piece.data() - text_.data()),
                         static_cast<std::size_t>(piece.data() - text_.data()) + eq);
      arg.value = piece.substr(eq + 1);
      while (!arg.value.empty() && is_space(arg.value.front())) arg.value.remove_prefix(1);
      if (arg.name.empty()) fail_syntax("missing argument name before '='");
    } else {
      arg.value = piece;
    }
    if (arg.value.empty())
      fail_syntax(arg.name.empty() ? "empty argument"
                                   : "missing value for '" + std::string(arg.name) + "'");
    args.push_back(arg);
    if (text_[pos_++] == ')') return args;
  }
}

void Parser::assign(const KindInfo& k, const std::vector<RawArg>& args) {
  const std::string name(k.name);
  const std::size_t n = k.count;
  std::array<std::optional<double>, 3> given{};
  std::array<std::string_view, 3> given_as{};  // the name used, for messages

  auto number = [&](const RawArg& a, std::string_view label) {
    auto v = to_number(a.value);
    if (!v)
      throw Error(name + ": " + std::string(label) + " must be a finite number, got '" +
                  std::string(a.value) + "'");
    return *v;
  };

  bool any_named = false, any_positional = false;
  for (const auto& a : args) (a.name.empty() ? any_positional : any_named) = true;
  if (any_named && any_positional)
    throw Error(name + ": arguments must be all positional or all named");

  if (any_positional) {
    if (args.size() > n) {
      std::string list;
      for (std::size_t i = 0; i < n; ++i)
        list += (list.empty() ? "" : ", ") + std::string(k.slots[i].name);
      throw Error(name + ": takes " + std::to_string(n) + " argument" + (n == 1 ? "" : "s") + " (" +
                  list + "), got " + std::to_string(args.size()));
    }
    for (std::size_t i = 0; i < args.size(); ++i) {
      given[i] = number(args[i], k.slots[i].name);
      given_as[i] = k.slots[i].name;
    }
  } else {
    for (const auto& a : args) {
      bool matched = false;
      for (std::size_t i = 0; i < n && !matched; ++i) {
        const Slot& s = k.slots[i];
        const bool by_alias = !s.alias.empty() && a.name == s.alias;
        if (a.name != s.name && !by_alias) continue;
        matched = true;
        if (given[i]) {
          if (given_as[i] == a.name)
            throw Error(name + ": " + std::string(a.name) + " given twice");
          throw Error(name + ": give " + std::string(s.name) + " or " + std::string(s.alias) +
                      ", not both");
        }
        double v = number(a, a.name);
        if (by_alias && s.reciprocal) {
          if (!(v > 0))
            throw Error(name + ": " + std::string(a.name) + " must be > 0, got " +
                        format_number(v));
          v = 1.0 / v;
        }
        given[i] = v;
        given_as[i] = a.name;
      }
      if (!matched) {
        std::string known;
        for (std::size_t i = 0; i < n; ++i) {
          known += (known.empty() ? "" : ", ") + std::string(k.slots[i].name);
          if (!k.slots[i].alias.empty()) known += ", " + std::string(k.slots[i].alias);
        }
        throw Error(name + ": unknown argument '" + std::string(a.name) + "' (known: " + known +
                    ")");
      }
    }
  }

  std::string missing;
  std::size_t missing_count = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (given[i]) continue;
    const Slot& s = k.slots[i];
    std::string what(s.name);
    if (!s.alias.empty()) what += " or " + std::string(s.alias);
    missing += (missing.empty() ? "" : " and ") + what;
    ++missing_count;
  }
  if (missing_count > 0) throw Error(name + ": needs " + missing);

  kind = k.kind;
  for (std::size_t i = 0; i < n; ++i) params[i] = *given[i];
}

void Parser::run() {
  skip_space();
  if (pos_ == text_.size())
    throw Error("empty distribution (expected e.g. 'exp(mean=1)'; known: " + known_names() + ")");

  // A bare number is a constant.
  if (auto v = to_number(trimmed(pos_, text_.size()))) {
    kind = Kind::kConst;
    params = {*v, 0, 0};
    return;
  }

  const std::string_view name = ident();
  if (name.empty()) fail_syntax("expected a distribution name");
  const KindInfo* k = nullptr;
  for (const auto& candidate : kKinds)
    if (candidate.name == name) k = &candidate;
  if (name == "exponential") k = &info(Kind::kExponential);
  if (k == nullptr)
    throw Error("unknown distribution '" + std::string(name) + "' (known: " + known_names() + ")");
  skip_space();
  if (pos_ >= text_.size() || text_[pos_] != '(')
    fail_syntax("expected '(' after '" + std::string(name) + "'");
  ++pos_;
  const std::vector<RawArg> args = arguments();
  skip_space();
  if (pos_ != text_.size())
    fail_syntax("unexpected '" + std::string(text_.substr(pos_)) + "' after ')'");
  assign(*k, args);
}

void check(Kind kind, const std::array<double, 3>& a) {
  const std::string name(info(kind).name);
  auto positive = [&](double v, const char* what) {
    if (!(v > 0)) throw Error(name + ": " + what + " must be > 0, got " + format_number(v));
  };
  auto non_negative = [&](double v, const char* what) {
    if (!(v >= 0)) throw Error(name + ": " + what + " must be >= 0, got " + format_number(v));
  };
  switch (kind) {
    case Kind::kConst:
      break;
    case Kind::kExponential:
      positive(a[0], "mean");
      break;
    case Kind::kUniform:
      if (!(a[0] < a[1]))
        throw Error("uniform: min (" + format_number(a[0]) + ") must be < max (" +
                    format_number(a[1]) + ")");
      break;
    case Kind::kNormal:
      non_negative(a[1], "sd");
      break;
    case Kind::kLognormal:
      non_negative(a[1], "sigma");
      break;
    case Kind::kErlang:
      if (!(a[0] >= 1 && a[0] == std::floor(a[0])))
        throw Error("erlang: k must be a positive integer (got " + format_number(a[0]) + ")");
      if (a[0] > 1e6)
        throw Error("erlang: k must be at most 1000000 (got " + format_number(a[0]) + ")");
      positive(a[1], "mean");
      break;
    case Kind::kGamma:
    case Kind::kWeibull:
      positive(a[0], "shape");
      positive(a[1], "scale");
      break;
    case Kind::kTriangular:
      if (!(a[0] < a[2]))
        throw Error("triangular: min (" + format_number(a[0]) + ") must be < max (" +
                    format_number(a[2]) + ")");
      if (!(a[0] <= a[1] && a[1] <= a[2]))
        throw Error("triangular: mode (" + format_number(a[1]) + ") must lie in [min, max] = [" +
                    format_number(a[0]) + ", " + format_number(a[2]) + "]");
      break;
  }
}

// Marsaglia & Tsang (2000), shape >= 1, unit scale. Every attempt draws the
// same three numbers (two for the normal, one uniform), whichever branch
// decides it, so the stream position depends only on the attempt count.
double gamma_unit(double shape, Random& rng) {
  const double d = shape - 1.0 / 3.0;
  const double c = 1.0 / std::sqrt(9.0 * d);
  for (;;) {
    const double x = rng.normal();
    const double u = rng.uniform_pos();
    double v = 1.0 + c * x;
    if (v <= 0) continue;
    v = v * v * v;
    const double x2 = x * x;
    if (u < 1.0 - 0.0331 * x2 * x2) return d * v;
    if (std::log(u) < 0.5 * x2 + d * (1.0 - v + std::log(v))) return d * v;
  }
}

}  // namespace

Distribution Distribution::parse(std::string_view text) {
  Parser p(text);
  p.run();
  check(p.kind, p.params);
  Distribution d;
  d.kind_ = p.kind;
  d.a_ = p.params;
  return d;
}

Distribution Distribution::constant(double value) {
  if (!std::isfinite(value)) throw Error("const: value must be finite");
  Distribution d;
  d.kind_ = Kind::kConst;
  d.a_ = {value, 0, 0};
  return d;
}

Distribution Distribution::exponential(double mean) {
  Distribution d;
  d.kind_ = Kind::kExponential;
  d.a_ = {mean, 0, 0};
  check(d.kind_, d.a_);
  return d;
}

double Distribution::sample(Random& rng) const {
  switch (kind_) {
    case Kind::kConst:
      return a_[0];
    case Kind::kExponential:
      return rng.exponential(a_[0]);
    case Kind::kUniform:
      return rng.uniform(a_[0], a_[1]);
    case Kind::kNormal:
      return rng.normal(a_[0], a_[1]);
    case Kind::kLognormal:
      return rng.lognormal(a_[0], a_[1]);
    case Kind::kErlang: {
      // -mean/k * log(u_1 ... u_k); the product is folded into the log sum
      // before it can underflow.
      const auto k = static_cast<std::uint64_t>(a_[0]);
      double product = 1.0, log_sum = 0.0;
      for (std::uint64_t i = 0; i < k; ++i) {
        product *= rng.uniform_pos();
        if (product < 1e-200) {
          log_sum += std::log(product);
          product = 1.0;
        }
      }
      log_sum += std::log(product);
      return -a_[1] / a_[0] * log_sum;
    }
    case Kind::kGamma: {
      const double shape = a_[0], scale = a_[1];
      if (shape >= 1.0) return scale * gamma_unit(shape, rng);
      // Boost: Gamma(a) = Gamma(a + 1) * U^(1/a). U drawn first, always.
      const double u = rng.uniform_pos();
      return scale * gamma_unit(shape + 1.0, rng) * std::pow(u, 1.0 / shape);
    }
    case Kind::kWeibull:
      return a_[1] * std::pow(-std::log(rng.uniform_pos()), 1.0 / a_[0]);
    case Kind::kTriangular: {
      const double lo = a_[0], mode = a_[1], hi = a_[2];
      const double u = rng.uniform();
      if (u * (hi - lo) < mode - lo) return lo + std::sqrt(u * (hi - lo) * (mode - lo));
      return hi - std::sqrt((1.0 - u) * (hi - lo) * (hi - mode));
    }
  }
  return 0.0;
}

double Distribution::mean() const {
  switch (kind_) {
    case Kind::kConst:
    case Kind::kExponential:
      return a_[0];
    case Kind::kUniform:
      return 0.5 * (a_[0] + a_[1]);
    case Kind::kNormal:
      return a_[0];
    case Kind::kLognormal:
      return std::exp(a_[0] + 0.5 * a_[1] * a_[1]);
    case Kind::kErlang:
      return a_[1];
    case Kind::kGamma:
      return a_[0] * a_[1];
    case Kind::kWeibull:
      return a_[1] * std::tgamma(1.0 + 1.0 / a_[0]);
    case Kind::kTriangular:
      return (a_[0] + a_[1] + a_[2]) / 3.0;
  }
  return 0.0;
}

std::string Distribution::to_string() const {
  const KindInfo& k = info(kind_);
  if (kind_ == Kind::kConst) return "const(" + format_number(a_[0]) + ")";
  std::string out(k.name);
  out += '(';
  for (std::size_t i = 0; i < k.count; ++i) {
    if (i > 0) out += ", ";
    out += k.slots[i].name;
    out += '=';
    out += format_number(a_[i]);
  }
  out += ')';
  return out;
}

}  // namespace dsim
