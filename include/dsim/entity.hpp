// How a model author writes an entity type, and how dsim erases its type.
//
// An entity type is a class with
//   - `struct State`: trivially copyable, default-constructible: the whole
//     per-entity state the engine saves, restores and checkpoints;
//   - `using Events = dsim::Events<A, B>;`: the payload types it handles,
//     each a plain struct with a stable name (dsim/payload.hpp):
//     `struct A { static constexpr std::string_view dsim_name = "mymodel.a"; };`
//   - a constructor `T(dsim::Setup&)` that reads parameters and declares
//     statistics (one object per group, shared read-only by its entities);
//   - `void on(State&, const A&, dsim::Context&) const;` for each payload type;
//   - optionally `void init(State&, dsim::Context&) const;` (runs at time 0,
//     may send) and `void finish(State&, dsim::Context&) const;` (runs at end
//     time, may record statistics, may not send);
//   - optionally `static void declare(dsim::ParamSpec&);` listing parameters;
//   - optionally, for every payload type, a reverse handler
//     `void reverse(State&, const A&, const dsim::Context&) const;` that undoes
//     what `on` did to State. Never required: the optimistic engine saves and
//     restores State by itself (DESIGN.md inv. 5). When a type has one for
//     every payload, the engine calls them on rollback instead of copying
//     State before each event (a speed-up for large States). The engine still
//     restores the random stream, send counter and statistics itself.
//     `dsim run --check-rollback` checks that they restore State exactly.
// Handlers are `const`: all mutable facts live in State (DESIGN.md inv. 3).
//
//   struct Counter {
//     struct State { std::uint64_t hits = 0; };
//     struct Tick { static constexpr std::string_view dsim_name = "counter.tick"; };
//     using Events = dsim::Events<Tick>;
//     static void declare(dsim::ParamSpec& p) { p.add("period", 1.0, "tick period"); }
//     explicit Counter(dsim::Setup& s) : period_(s.param_real("period")) {}
//     void init(State&, dsim::Context& ctx) const { ctx.send(ctx.self(), Tick{}, period_); }
//     void on(State& s, const Tick&, dsim::Context& ctx) const {
//       ++s.hits;
//       ctx.send(ctx.self(), Tick{}, period_);
//     }
//     double period_;
//   };
//   registry.add<Counter>("counter", "ticks and counts");
#pragma once

#include <concepts>
#include <cstdint>
#include <functional>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "dsim/context.hpp"
#include "dsim/params.hpp"
#include "dsim/setup.hpp"

namespace dsim {

template <class... Ps>
struct Events {};

namespace detail {
template <class T, class P>
concept HandlesPayload = requires(const T& t, typename T::State& s, const P& p, Context& c) {
  { t.on(s, p, c) };
};
template <class T, class L>
struct HandlesAll : std::false_type {};
template <class T, class... Ps>
struct HandlesAll<T, Events<Ps...>>
    : std::bool_constant<(HandlesPayload<T, Ps> && ...) && (Payload<Ps> && ...)> {};
}  // namespace detail

template <class T>
concept EntityType = requires {
  typename T::State;
  typename T::Events;
} && std::is_trivially_copyable_v<typename T::State> &&
    std::is_default_constructible_v<typename T::State> && std::constructible_from<T, Setup&> &&
    detail::HandlesAll<T, typename T::Events>::value;

// Type-erased entity type, as the engine sees it.
struct EntityTypeInfo {
  struct Handler {
    std::uint32_t type_id;       // payload_id<P>(): what events carry
    std::string_view type_name;  // payload_name<P>(): the stable name
    std::uint32_t payload_size;  // bytes of the payload (0 for an empty struct)
    void (*call)(const void* behaviour, void* state, const void* payload, Context& ctx);
    // Undoes `call` on the state; nullptr when the type has no reverse handler.
    void (*reverse)(const void* behaviour, void* state, const void* payload,
                    const Context& ctx) = nullptr;
    // The compiler's spelling of P, for error messages only (it changes with
    // the compiler and with renames: never store it).
    std::string_view cpp_name = {};
  };
  using BehaviourPtr = std::unique_ptr<void, void (*)(void*)>;

  std::string name;
  std::string doc;
  ParamSpec params;
  std::size_t state_size = 0;
  std::size_t state_align = 1;
  // Builds a group's behaviour object (a function, not a function pointer,
  // so a type made at run time, e.g. one written in Python, can carry what
  // it was made from).
  std::function<BehaviourPtr(Setup& setup)> make;
  void (*construct_state)(void* state) = nullptr;
  void (*init)(const void* behaviour, void* state, Context& ctx) = nullptr;    // optional
  void (*finish)(const void* behaviour, void* state, Context& ctx) = nullptr;  // optional
  std::vector<Handler> handlers;
  // Every handler has a reverse handler (and there is at least one handler).
  bool reversible = false;
  // Keeps alive what a type made at run time points to (its handlers'
  // payload names, its code); null for a C++ type.
  std::shared_ptr<const void> owner;
  // What the type is written in, for messages: "C++" or e.g. "Python".
  std::string_view language = "C++";
  // Its handlers run one at a time in a process (plain Python ones hold the
  // GIL): more threads only take turns, so `threads = 0` (one per core)
  // plans one thread for a model that has such a type.
  bool serial = false;

  const Handler* find_handler(std::uint32_t type_id) const {
    for (const auto& h : handlers)
      if (h.type_id == type_id) return &h;
    return nullptr;
  }
};

namespace detail {
// An empty State takes no bytes in the entity block; handlers get a shared
// empty object instead (it has no bytes to read, write or race on).
template <class State>
State& state_ref(void* storage) {
  if constexpr (std::is_empty_v<State>) {
    static_cast<void>(storage);
    static State empty;
    return empty;
  } else {
    return *static_cast<State*>(storage);
  }
}

template <class T, class P>
concept ReversesPayload =
    requires(const T& t, typename T::State& s, const P& p, const Context& c) {
      { t.reverse(s, p, c) };
    };

template <class T, class P>
EntityTypeInfo::Handler make_handler() {
  EntityTypeInfo::Handler h{
      .type_id = payload_id<P>(),
      .type_name = payload_name<P>(),
      .payload_size = std::is_empty_v<P> ? 0u : static_cast<std::uint32_t>(sizeof(P)),
      .call =
          [](const void* b, void* s, const void* p, Context& c) {
            P payload;
            std::memcpy(static_cast<void*>(&payload), p, sizeof(P));
            static_cast<const T*>(b)->on(state_ref<typename T::State>(s), payload, c);
          },
      .cpp_name = cpp_type_name<P>()};
  if constexpr (ReversesPayload<T, P>)
    h.reverse = [](const void* b, void* s, const void* p, const Context& c) {
      P payload;
      std::memcpy(static_cast<void*>(&payload), p, sizeof(P));
      static_cast<const T*>(b)->reverse(state_ref<typename T::State>(s), payload, c);
    };
  return h;
}
template <class T, class... Ps>
void add_handlers(std::vector<EntityTypeInfo::Handler>& out, Events<Ps...>*) {
  (out.push_back(make_handler<T, Ps>()), ...);
}
}  // namespace detail

template <EntityType T>
EntityTypeInfo make_entity_type(std::string name, std::string doc) {
  using State = typename T::State;
  EntityTypeInfo info;
  info.name = std::move(name);
  info.doc = std::move(doc);
  if constexpr (requires(ParamSpec& p) { T::declare(p); }) T::declare(info.params);
  info.state_size = std::is_empty_v<State> ? 0 : sizeof(State);
  info.state_align = alignof(State);
  info.make = [](Setup& setup) {
    return EntityTypeInfo::BehaviourPtr(new T(setup),
                                        [](void* p) { delete static_cast<T*>(p); });
  };
  info.construct_state = [](void* s) {
    if constexpr (!std::is_empty_v<State>) new (s) State{};
  };
  if constexpr (requires(const T& t, State& s, Context& c) { t.init(s, c); })
    info.init = [](const void* b, void* s, Context& c) {
      static_cast<const T*>(b)->init(detail::state_ref<State>(s), c);
    };
  if constexpr (requires(const T& t, State& s, Context& c) { t.finish(s, c); })
    info.finish = [](const void* b, void* s, Context& c) {
      static_cast<const T*>(b)->finish(detail::state_ref<State>(s), c);
    };
  detail::add_handlers<T>(info.handlers, static_cast<typename T::Events*>(nullptr));
  info.reversible = !info.handlers.empty();
  for (const auto& h : info.handlers)
    if (h.reverse == nullptr) info.reversible = false;
  return info;
}

}  // namespace dsim
