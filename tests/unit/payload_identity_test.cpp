// Stable payload identities (include/dsim/payload.hpp) and what the Registry
// refuses about them: ids fixed by names alone, declared names and ids,
// collisions, one name with two sizes or two ids, a payload shared by several
// entity types, and readable payload names in run-time errors.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "blocks/blocks.hpp"
#include "dsim/dsim.hpp"
#include "dsim/reference_models.hpp"
#include "models/epidemic/epidemic.hpp"
#include "models/phold/phold.hpp"

// Types "one cannot edit": named from outside with DSIM_PAYLOAD.
namespace thirdparty {
struct Point {
  double x, y;
};
struct Legacy {
  std::int32_t v;
};
// Names itself, but DSIM_PAYLOAD overrides it.
struct Both {
  static constexpr std::string_view dsim_name = "test.member";
};
}  // namespace thirdparty

DSIM_PAYLOAD(thirdparty::Point, "test.point");
DSIM_PAYLOAD_ID(thirdparty::Legacy, "test.legacy", 0x1234);
DSIM_PAYLOAD(thirdparty::Both, "test.trait");

namespace {

struct Small {
  static constexpr std::string_view dsim_name = "test.msg";
  std::uint32_t v;
};
struct SmallCopy {  // same name and size as Small: the same payload
  static constexpr std::string_view dsim_name = "test.msg";
  std::uint32_t w;
};
struct Large {  // same name as Small, another size
  static constexpr std::string_view dsim_name = "test.msg";
  std::uint64_t a, b;
};
struct Renumbered {  // same name as Small, another id
  static constexpr std::string_view dsim_name = "test.msg";
  static constexpr std::uint32_t dsim_id = 77;
  std::uint32_t v;
};
// Two names whose FNV-1a 32 hashes collide (0xcfcac78b).
struct Collide1 {
  static constexpr std::string_view dsim_name = "m.p1022789";
};
struct Collide2 {
  static constexpr std::string_view dsim_name = "m.p1239192";
};
// Two names declared with one id.
struct SameIdA {
  static constexpr std::string_view dsim_name = "test.a";
  static constexpr std::uint32_t dsim_id = 5;
};
struct SameIdB {
  static constexpr std::string_view dsim_name = "test.b";
  static constexpr std::uint32_t dsim_id = 5;
};
// A plugin's own copy of the blocks' job, and one with the wrong layout.
struct MyJob {
  static constexpr std::string_view dsim_name = "blocks.job";
  dsim::Time created;
  std::uint64_t id;
};
struct ShortJob {
  static constexpr std::string_view dsim_name = "blocks.job";
  dsim::Time created;
};

// An entity type that handles Ps and does nothing.
template <class... Ps>
struct Handles {
  struct State {};
  using Events = dsim::Events<Ps...>;
  explicit Handles(dsim::Setup&) {}
  template <class P>
  void on(State&, const P&, dsim::Context&) const {}
};

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

// The message of the error registering `second` after `first` raises.
template <class First, class Second>
std::string refusal(dsim::Registry& registry) {
  registry.add<First>("first", "");
  try {
    registry.add<Second>("second", "");
  } catch (const dsim::Error& e) {
    EXPECT_EQ(registry.find("second"), nullptr) << "a refused type is not registered";
    return e.what();
  }
  ADD_FAILURE() << "the registry accepted it";
  return {};
}

// These values are stored in checkpoints and traces: a compiler, a build or a
// refactoring must never move them.
TEST(PayloadIdentity, IdIsFnv1aOfTheName) {
  // FNV-1a 32 test vectors (Fowler, Noll, Vo).
  EXPECT_EQ(dsim::detail::fnv1a32(""), 0x811c9dc5u);
  EXPECT_EQ(dsim::detail::fnv1a32("a"), 0xe40c292cu);
  EXPECT_EQ(dsim::detail::fnv1a32("foobar"), 0xbf9cf968u);
  EXPECT_EQ(dsim::payload_name<dsim::models::Phold::Ping>(), "phold.ping");
  EXPECT_EQ(dsim::payload_id<dsim::models::Phold::Ping>(), 0xc2862880u);
  EXPECT_EQ(dsim::payload_name<dsim::blocks::Job>(), "blocks.job");
  EXPECT_EQ(dsim::payload_id<dsim::blocks::Job>(), 0xce1b1ceeu);
  EXPECT_EQ(dsim::payload_id<dsim::models::Epidemic::Contact>(), 0xe477ded1u);
  // The id depends on the name only, not on the C++ type.
  EXPECT_EQ(dsim::payload_id<MyJob>(), dsim::payload_id<dsim::blocks::Job>());
  static_assert(dsim::payload_id<Collide1>() == 0xcfcac78bu);
  static_assert(dsim::payload_id<Collide2>() == 0xcfcac78bu);
}

TEST(PayloadIdentity, DeclaredNamesAndIds) {
  EXPECT_EQ(dsim::payload_name<thirdparty::Point>(), "test.point");
  EXPECT_EQ(dsim::payload_id<thirdparty::Point>(), dsim::detail::fnv1a32("test.point"));
  EXPECT_EQ(dsim::payload_name<thirdparty::Legacy>(), "test.legacy");
  EXPECT_EQ(dsim::payload_id<thirdparty::Legacy>(), 0x1234u);
  EXPECT_EQ(dsim::payload_name<Renumbered>(), "test.msg");
  EXPECT_EQ(dsim::payload_id<Renumbered>(), 77u);
  EXPECT_EQ(dsim::payload_name<thirdparty::Both>(), "test.trait");
}

TEST(PayloadIdentity, NameRules) {
  using dsim::detail::valid_payload_name;
  EXPECT_TRUE(valid_payload_name("phold.ping"));
  EXPECT_TRUE(valid_payload_name("My_Model-2.Job"));
  EXPECT_TRUE(valid_payload_name(std::string(64, 'x')));
  EXPECT_FALSE(valid_payload_name(""));
  EXPECT_FALSE(valid_payload_name(std::string(65, 'x')));
  EXPECT_FALSE(valid_payload_name("has space"));
  EXPECT_FALSE(valid_payload_name("ns::Type"));
  EXPECT_FALSE(valid_payload_name("caf\xc3\xa9"));
}

TEST(PayloadRegistry, ListsTheBuiltinPayloads) {
  dsim::Registry registry;
  dsim::register_builtins(registry);
  dsim::register_reference_models(registry);
  std::vector<std::string> names;
  for (const dsim::PayloadType* p : registry.payloads()) names.push_back(p->name);
  EXPECT_EQ(names,
            (std::vector<std::string>{"blocks.delay.release", "blocks.job", "blocks.queue.done",
                                      "blocks.source.arrive", "epidemic.contact",
                                      "epidemic.infectious", "epidemic.recover", "phold.ping"}));
  // The blocks share one job payload.
  const dsim::PayloadType* job = registry.find_payload("blocks.job");
  ASSERT_NE(job, nullptr);
  EXPECT_EQ(job->id, 0xce1b1ceeu);
  EXPECT_EQ(job->size, sizeof(dsim::blocks::Job));
  EXPECT_EQ(job->entity_types, (std::vector<std::string>{"queue", "delay", "router", "sink"}));
  EXPECT_EQ(registry.find_payload(0xce1b1ceeu), job);
  EXPECT_EQ(registry.find_payload(0xc2862880u)->name, "phold.ping");
  EXPECT_EQ(registry.find_payload("no.such.payload"), nullptr);
  // Every handler's id leads back to its stable name.
  for (const dsim::EntityTypeInfo* type : registry.types())
    for (const auto& h : type->handlers) {
      const dsim::PayloadType* p = registry.find_payload(h.type_id);
      ASSERT_NE(p, nullptr) << type->name;
      EXPECT_EQ(p->name, h.type_name);
    }
}

TEST(PayloadRegistry, PluginMayShareABuiltinPayload) {
  dsim::Registry registry;
  dsim::register_builtins(registry);
  registry.add<Handles<MyJob>>("my_sink", "");
  EXPECT_EQ(registry.find_payload("blocks.job")->entity_types.back(), "my_sink");
  // The same payload under two C++ names, in two entity types of one model.
  registry.add<Handles<Small>>("one", "");
  registry.add<Handles<SmallCopy>>("two", "");
  EXPECT_EQ(registry.find_payload("test.msg")->entity_types,
            (std::vector<std::string>{"one", "two"}));
}

TEST(PayloadRegistry, RefusesTwoNamesWithOneHashedId) {
  dsim::Registry registry;
  const std::string what = refusal<Handles<Collide1>, Handles<Collide2>>(registry);
  EXPECT_TRUE(contains(what, "event types 'm.p1022789' (C++ type '")) << what;
  EXPECT_TRUE(contains(what, "Collide1', entity type 'first') and 'm.p1239192'")) << what;
  EXPECT_TRUE(contains(what, "Collide2', entity type 'second') have the same id 0xcfcac78b"))
      << what;
  EXPECT_TRUE(contains(what, "rename one of them or declare a different id")) << what;
  EXPECT_EQ(registry.find_payload("m.p1239192"), nullptr);
  EXPECT_EQ(registry.find_payload(0xcfcac78bu)->name, "m.p1022789");
}

TEST(PayloadRegistry, RefusesTwoNamesWithOneDeclaredId) {
  dsim::Registry registry;
  const std::string what = refusal<Handles<SameIdA>, Handles<SameIdB>>(registry);
  EXPECT_TRUE(contains(what, "'test.a'")) << what;
  EXPECT_TRUE(contains(what, "'test.b'")) << what;
  EXPECT_TRUE(contains(what, "have the same id 0x00000005")) << what;
}

TEST(PayloadRegistry, RefusesOneNameWithTwoSizes) {
  dsim::Registry registry;
  const std::string what = refusal<Handles<Small>, Handles<Large>>(registry);
  EXPECT_TRUE(contains(what, "event type 'test.msg' is 4 bytes in entity type 'first' (C++ type '"))
      << what;
  EXPECT_TRUE(contains(what, "Small') but 16 bytes in entity type 'second' (C++ type '")) << what;
  EXPECT_TRUE(contains(what, "Large'); one name is one payload layout")) << what;
}

TEST(PayloadRegistry, RefusesABuiltinNameWithAnotherLayout) {
  dsim::Registry registry;
  dsim::register_builtins(registry);
  try {
    registry.add<Handles<ShortJob>>("my_sink", "");
    FAIL() << "the registry accepted it";
  } catch (const dsim::Error& e) {
    const std::string what = e.what();
    EXPECT_TRUE(contains(what,
                         "event type 'blocks.job' is 16 bytes in entity type 'queue' (C++ "
                         "type 'dsim::blocks::Job') but 8 bytes in entity type 'my_sink'"))
        << what;
    EXPECT_TRUE(contains(what, "ShortJob")) << what;
  }
  EXPECT_EQ(registry.find("my_sink"), nullptr);
  EXPECT_EQ(registry.find_payload("blocks.job")->entity_types.back(), "sink");
}

TEST(PayloadRegistry, RefusesOneNameWithTwoIds) {
  dsim::Registry registry;
  const std::string what = refusal<Handles<Small>, Handles<Renumbered>>(registry);
  EXPECT_TRUE(contains(what, "event type 'test.msg' has id 0x")) << what;
  EXPECT_TRUE(contains(what, "in entity type 'first' (C++ type '")) << what;
  EXPECT_TRUE(contains(what, "but 0x0000004d in entity type 'second'")) << what;
  EXPECT_TRUE(contains(what, "Renumbered')")) << what;
}

TEST(PayloadRegistry, RefusesClashesWithinOneType) {
  dsim::Registry registry;
  try {
    registry.add<Handles<Small, SmallCopy>>("twice", "");
    ADD_FAILURE() << "the registry accepted it";
  } catch (const dsim::Error& e) {
    EXPECT_TRUE(contains(e.what(), "entity type 'twice' handles event type 'test.msg' twice"))
        << e.what();
  }
  try {
    registry.add<Handles<Collide1, Collide2>>("clash", "");
    ADD_FAILURE() << "the registry accepted it";
  } catch (const dsim::Error& e) {
    EXPECT_TRUE(contains(e.what(), "entity type 'clash') have the same id 0xcfcac78b")) << e.what();
  }
  EXPECT_TRUE(registry.types().empty());
  EXPECT_TRUE(registry.payloads().empty());
}

// Run-time errors name the event by its stable name.
struct Kicker {
  struct State {};
  struct Kick {
    static constexpr std::string_view dsim_name = "kicker.kick";
  };
  using Events = dsim::Events<Kick>;
  explicit Kicker(dsim::Setup&) {}
  void init(State&, dsim::Context& ctx) const { ctx.send(ctx.self(), Kick{}, 1.0); }
  void on(State&, const Kick&, dsim::Context&) const { throw dsim::Error("out of order"); }
};

TEST(PayloadRegistry, RunTimeErrorsNameThePayload) {
  dsim::Registry registry;
  registry.add<Kicker>("kicker", "");
  dsim::ModelSpec spec;
  spec.simulation.end_time = 10;
  spec.simulation.sync = "sequential";
  spec.groups.push_back({"k", "kicker", 1, {}, {}, {}});
  dsim::validate(spec, registry);
  dsim::Simulation sim(std::move(spec), registry);
  try {
    sim.run();
    FAIL() << "the run succeeded";
  } catch (const dsim::Error& e) {
    EXPECT_TRUE(contains(e.what(), "(type 'kicker') handling event 'kicker.kick' from"))
        << e.what();
    EXPECT_TRUE(contains(e.what(), "out of order")) << e.what();
  }
}

}  // namespace
