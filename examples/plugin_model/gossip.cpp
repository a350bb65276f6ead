// Rumour spreading by push gossip with loss of interest: the "feedback,
// counter" variant of Demers et al., "Epidemic algorithms for replicated
// database maintenance" (PODC 1987).
//
// Each node is an entity; its peers are its out-neighbours from the config's
// links. At time 0 the first `seeds` nodes of the group know the rumour. A
// node that knows it and is still interested pushes it, every `latency +
// period` time units, to a peer picked at random; the peer answers whether it
// already knew. After `loss_of_interest` pushes to peers that already knew, a
// node stops spreading. The rumour dies out with some nodes never told (the
// residue, about e^-(k+1) of them for loss_of_interest = k on a well-mixed
// network), which `informed`'s final value shows.
//
// Every event is sent at least `latency` later, so links may declare
// lookahead = latency and the run may use the conservative engine.
//
// Statistics: gauge `informed` (0/1 per node: the group's sum is the number
// of informed nodes; sampled into series.csv), gauge `spreading` (nodes still
// pushing), tally `informed_at` (when each node learned the rumour), counters
// `pushes` and `redundant` (pushes to a node that already knew).
#include <cstdint>
#include <dsim/dsim.hpp>
#include <string>

namespace {

class Gossip {
 public:
  struct State {
    bool informed = false;
    bool spreading = false;
    std::uint32_t redundant = 0;  // pushes answered "already knew"
  };
  struct Rumour {
    static constexpr std::string_view dsim_name = "gossip.rumour";
    dsim::EntityId from;
  };
  struct Answer {
    static constexpr std::string_view dsim_name = "gossip.answer";
    bool already_knew;
  };
  struct Push {  // to itself: time to push again
    static constexpr std::string_view dsim_name = "gossip.push";
  };
  using Events = dsim::Events<Rumour, Answer, Push>;

  static void declare(dsim::ParamSpec& p) {
    p.add("seeds", 1, "nodes that know the rumour at time 0 (the first of the group)");
    p.add("loss_of_interest", 2, "redundant pushes after which a node stops spreading");
    p.add_distribution("period", "exp(mean=1)", "time between pushes, on top of latency");
    p.add("latency", 0.1, "message delay (links may use it as lookahead)");
  }

  explicit Gossip(dsim::Setup& s)
      : seeds_(s.param_int("seeds")),
        loss_of_interest_(s.param_int("loss_of_interest")),
        period_(s.param_distribution("period")),
        latency_(s.param_real("latency")),
        informed_(s.gauge("informed", "nodes that know the rumour")),
        spreading_(s.gauge("spreading", "nodes still pushing the rumour")),
        informed_at_(s.tally("informed_at", "time at which a node learned the rumour")),
        pushes_(s.counter("pushes", "rumour messages sent")),
        redundant_(s.counter("redundant", "pushes to a node that already knew")) {
    // (dsim adds where: the config location, the group and its type.)
    if (seeds_ < 0 || loss_of_interest_ < 1 || !(latency_ > 0))
      throw dsim::Error("need seeds >= 0, loss_of_interest >= 1, latency > 0");
  }

  void init(State& s, dsim::Context& ctx) const {
    if (ctx.index() < static_cast<std::uint64_t>(seeds_)) learn(s, ctx);
  }

  void on(State& s, const Push&, dsim::Context& ctx) const {
    if (!s.spreading) return;
    const auto peers = ctx.neighbours();
    if (peers.empty()) return stop(s, ctx);
    ctx.send(peers[ctx.rng().below(peers.size())], Rumour{ctx.self()}, latency_);
    ctx.add(pushes_);
    ctx.send(ctx.self(), Push{}, latency_ + period_.sample(ctx.rng()));
  }

  void on(State& s, const Rumour& r, dsim::Context& ctx) const {
    ctx.send(r.from, Answer{s.informed}, latency_);
    if (!s.informed) learn(s, ctx);
  }

  void on(State& s, const Answer& a, dsim::Context& ctx) const {
    if (!a.already_knew || !s.spreading) return;
    ctx.add(redundant_);
    if (++s.redundant >= static_cast<std::uint32_t>(loss_of_interest_)) stop(s, ctx);
  }

 private:
  void learn(State& s, dsim::Context& ctx) const {
    s.informed = true;
    s.spreading = true;
    ctx.set(informed_, 1);
    ctx.set(spreading_, 1);
    ctx.record(informed_at_, ctx.now());
    ctx.send(ctx.self(), Push{}, latency_ + period_.sample(ctx.rng()));
  }
  void stop(State& s, dsim::Context& ctx) const {
    s.spreading = false;
    ctx.set(spreading_, 0);
  }

  std::int64_t seeds_;
  std::int64_t loss_of_interest_;
  dsim::Distribution period_;
  double latency_;
  dsim::Gauge informed_;
  dsim::Gauge spreading_;
  dsim::Tally informed_at_;
  dsim::Counter pushes_;
  dsim::Counter redundant_;
};

}  // namespace

DSIM_PLUGIN(registry) {
  registry.add<Gossip>("gossip", "push gossip with loss of interest (Demers et al. 1987)");
}
