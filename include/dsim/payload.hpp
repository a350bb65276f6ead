// Event payloads and their stable identities.
//
// A payload is a plain struct carried inline in an event (at most
// kMaxPayloadBytes bytes, trivially copyable). Every payload type declares a
// stable name: checkpoints and traces store which payload an event carries,
// so its identity must be the same whatever the compiler, the build, the
// machine, the namespace or the C++ name of the type. The name is part of the
// model's interface, like an entity type's registered name:
//
//   struct Ping {
//     static constexpr std::string_view dsim_name = "phold.ping";
//     dsim::EntityId from;
//   };
//
// For a type one cannot edit, declare its name once, at global namespace
// scope (not inside a namespace), before any handler or send uses it:
//
//   DSIM_PAYLOAD(geo::Point, "mymodel.point");
//
// Names are 1 to 64 characters from letters, digits, '.', '_' and '-'. The
// convention is "<model>.<payload>" in lower case ("blocks.job",
// "epidemic.contact"), so that the payloads of models loaded together do not
// clash. Entity types that exchange a payload use the same name for it: a
// plugin may declare its own struct named "blocks.job", with the same layout
// as the built-in blocks' Job, and take part in a queueing network. Rename a
// payload only on purpose: its name (and so its id) is what a checkpoint has
// recorded.
//
// The id an event carries is FNV-1a (32-bit) of the name, fixed by the name
// alone. An author may instead declare the id, to keep an existing id across
// a rename or to settle a collision the Registry reports:
//
//   struct Ping {
//     static constexpr std::string_view dsim_name = "phold.ping";
//     static constexpr std::uint32_t dsim_id = 0x50494e47;  // any value but 0
//   };
//   DSIM_PAYLOAD_ID(geo::Point, "mymodel.point", 7);
//
// A payload type without a name does not compile (a static_assert says what
// to add): there is no fallback to the compiler's spelling of the type, which
// changes with the compiler, a namespace or a rename, silently. When both
// DSIM_PAYLOAD and a dsim_name member are present, DSIM_PAYLOAD wins. A struct
// derived from a named payload inherits its name: give it its own.
// Registry::add refuses two names with one id, one name with two ids, and one
// name used for payloads of different sizes (dsim/registry.hpp).
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>
#include <utility>

#include "dsim/types.hpp"

namespace dsim {

// Concept for event payloads: plain structs carried inline in the envelope.
template <class P>
concept Payload = std::is_trivially_copyable_v<P> && sizeof(P) <= kMaxPayloadBytes;

// The identity of a payload type one cannot edit: specialise it with
// DSIM_PAYLOAD or DSIM_PAYLOAD_ID rather than by hand. The primary template is
// empty: a type without a specialisation names itself with a `dsim_name`
// member.
template <class P>
struct PayloadIdentity {};

inline constexpr std::size_t kMaxPayloadNameLength = 64;

namespace detail {

// FNV-1a, 32 bits (offset basis 2166136261, prime 16777619): the id of a
// payload name. Fixed forever: checkpoints and traces hold its values.
constexpr std::uint32_t fnv1a32(std::string_view text) {
  std::uint32_t h = 2166136261u;
  for (char c : text) {
    h ^= static_cast<unsigned char>(c);
    h *= 16777619u;
  }
  return h;
}

constexpr bool valid_payload_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxPayloadNameLength) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

template <class P>
concept NamedByTrait = requires {
  { PayloadIdentity<P>::name } -> std::convertible_to<std::string_view>;
};
template <class P>
concept NamedByMember = requires {
  { P::dsim_name } -> std::convertible_to<std::string_view>;
};
template <class P>
concept Named = NamedByTrait<P> || NamedByMember<P>;
template <class P>
inline constexpr bool kAlwaysFalse = false;

struct PayloadKey {
  std::string_view name;
  std::uint32_t id;
};

template <auto Id>
constexpr std::uint32_t declared_id() {
  static_assert(std::is_integral_v<decltype(Id)> && std::in_range<std::uint32_t>(Id),
                "dsim: a declared payload id (dsim_id) is an integer from 1 to 2^32-1");
  return static_cast<std::uint32_t>(Id);
}

template <class P>
constexpr PayloadKey payload_key() {
  if constexpr (NamedByTrait<P>) {
    constexpr std::string_view name = PayloadIdentity<P>::name;
    if constexpr (requires { PayloadIdentity<P>::id; })
      return {name, declared_id<PayloadIdentity<P>::id>()};
    else
      return {name, fnv1a32(name)};
  } else if constexpr (NamedByMember<P>) {
    constexpr std::string_view name = P::dsim_name;
    if constexpr (requires { P::dsim_id; })
      return {name, declared_id<P::dsim_id>()};
    else
      return {name, fnv1a32(name)};
  } else {
    static_assert(kAlwaysFalse<P>,
                  "dsim: this event payload type has no stable name. Add "
                  "`static constexpr std::string_view dsim_name = \"mymodel.payload\";` to the "
                  "struct, or write `DSIM_PAYLOAD(Type, \"mymodel.payload\");` at global "
                  "namespace scope (see include/dsim/payload.hpp)");
    return {"", 1};
  }
}

// The compiler's spelling of P, for error messages only: it changes with the
// compiler, the namespace and renames, so nothing may store it.
template <class P>
constexpr std::string_view pretty_name() {
  return __PRETTY_FUNCTION__;
}
template <class P>
constexpr std::string_view cpp_type_name() {
  constexpr std::string_view full = pretty_name<P>();
  constexpr std::string_view marker = "P = ";
  constexpr auto begin = full.find(marker) + marker.size();
  constexpr auto end = full.find_first_of(";]", begin);
  return full.substr(begin, end - begin);
}

}  // namespace detail

// The stable name of payload type P. Does not compile when P declares none.
template <class P>
constexpr std::string_view payload_name() {
  constexpr detail::PayloadKey key = detail::payload_key<P>();
  static_assert(!detail::Named<P> || detail::valid_payload_name(key.name),
                "dsim: a payload name is 1 to 64 characters from letters, digits, '.', '_' "
                "and '-' (e.g. \"mymodel.payload\")");
  return key.name;
}

// The id events of payload type P carry: the declared id, or FNV-1a 32 of
// payload_name<P>(). Never 0 (reserved for "no payload").
template <class P>
constexpr std::uint32_t payload_id() {
  constexpr detail::PayloadKey key = detail::payload_key<P>();
  static_cast<void>(payload_name<P>());
  static_assert(!detail::Named<P> || key.id != 0,
                "dsim: payload id 0 is reserved; declare another id (dsim_id)");
  return key.id;
}

// The id of a payload declared at run time (in Python) by its name: what
// payload_id<P>() is for a C++ type of that name without a declared id.
constexpr std::uint32_t payload_id_of(std::string_view name) { return detail::fnv1a32(name); }
// Whether `name` is a valid payload name (1 to 64 letters, digits, '.', '_', '-').
constexpr bool valid_payload_name(std::string_view name) {
  return detail::valid_payload_name(name);
}

}  // namespace dsim

// Names payload type TYPE (one that cannot get a `dsim_name` member), at global
// namespace scope:  DSIM_PAYLOAD(geo::Point, "mymodel.point");
// A TYPE with a comma in it needs an alias first.
#define DSIM_PAYLOAD(TYPE, NAME)                   \
  template <>                                      \
  struct dsim::PayloadIdentity<TYPE> {             \
    static constexpr std::string_view name = NAME; \
  }

// As DSIM_PAYLOAD, with a declared id instead of FNV-1a of the name.
#define DSIM_PAYLOAD_ID(TYPE, NAME, ID)            \
  template <>                                      \
  struct dsim::PayloadIdentity<TYPE> {             \
    static constexpr std::string_view name = NAME; \
    static constexpr auto id = ID;                 \
  }
