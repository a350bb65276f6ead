// A test plugin: PHOLD-like hops between the entities of a group, and one
// entity that fails on purpose (ctx.fail) at its first event at or after
// `fail_at`, so tests can check how a model's error is reported from any
// thread or MPI process. `fail_entity` < 0: nobody fails. With
// `fail_while_file`, only while that file exists (experiments' retries).
#include <cstdint>
#include <filesystem>
#include <dsim/dsim.hpp>
#include <string>

namespace {

class Faulty {
 public:
  struct State {
    std::uint64_t hops = 0;
  };
  struct Hop {
    static constexpr std::string_view dsim_name = "faulty.hop";
  };
  using Events = dsim::Events<Hop>;

  static void declare(dsim::ParamSpec& p) {
    p.add("fail_entity", -1, "index in the group of the entity that fails (-1: none)");
    p.add("fail_at", 0.0, "it fails at its first event at or after this time");
    p.add("delay", 1.0, "least delay of a hop (links may use it as lookahead)");
    p.add("fail_while_file", "",
          "if not empty: the entity fails only while this file exists (a fault that "
          "goes away, for retries)");
  }

  explicit Faulty(dsim::Setup& s)
      : fail_entity_(s.param_int("fail_entity")),
        fail_at_(s.param_real("fail_at")),
        delay_(s.param_real("delay")),
        fail_while_file_(s.param_string("fail_while_file")),
        hops_(s.counter("hops", "events handled")) {}

  void init(State&, dsim::Context& ctx) const { ctx.send(ctx.self(), Hop{}, delay_); }

  void on(State& s, const Hop&, dsim::Context& ctx) const {
    if (static_cast<std::int64_t>(ctx.index()) == fail_entity_ && ctx.now() >= fail_at_ &&
        (fail_while_file_.empty() || std::filesystem::exists(fail_while_file_)))
      ctx.fail("asked to fail (fail_entity = " + std::to_string(fail_entity_) + ")");
    ++s.hops;
    ctx.add(hops_);
    const auto peers = ctx.neighbours();
    const dsim::EntityId to = peers.empty() ? ctx.self() : peers[ctx.rng().below(peers.size())];
    ctx.send(to, Hop{}, delay_ + ctx.rng().uniform());
  }

 private:
  std::int64_t fail_entity_;
  double fail_at_;
  double delay_;
  std::string fail_while_file_;
  dsim::Counter hops_;
};

}  // namespace

DSIM_PLUGIN(registry) { registry.add<Faulty>("faulty", "hops that fail on purpose (tests)"); }
