#include "sync/rollback_check.hpp"

#include <fmt/format.h>

#include <cstring>

namespace dsim::detail {
namespace {

bool same_effects(const std::vector<Effect>& a, const std::vector<Effect>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const Effect& x = a[i];
    const Effect& y = b[i];
    if (x.kind != y.kind || x.group != y.group || x.index != y.index ||
        std::memcmp(&x.a, &y.a, sizeof x.a) != 0 || std::memcmp(&x.b, &y.b, sizeof x.b) != 0)
      return false;
  }
  return true;
}

}  // namespace

void CheckPartition::send(Context& ctx, EntityId target, std::uint32_t type,
                          const std::byte* payload, Time delay) {
  Event ev;
  Location loc;
  if (!make_event(ctx, target, type, payload, delay, ev, loc)) return;
  if (capture_ != nullptr)
    capture_->sends.push_back(ev);
  else
    send_direct(ctx, ev, loc, delay);
}

void CheckPartition::effect(const Effect& e) {
  if (capture_ != nullptr)
    capture_->effects.push_back(e);
  else
    Partition::effect(e);
}

std::uint64_t CheckPartition::run(Time bound, std::uint64_t max_events, Time safe_until) {
  safe_until_ = safe_until;
  std::uint64_t n = 0;
  Event ev;
  try {
    while (n < max_events && queue_.min_time() < bound) {
      ev = queue_.pop();
      check_event(ev);
      ++n;
    }
  } catch (...) {
    capture_ = nullptr;
    events_ += n;
    fault_event_ = ev;
    fault_error_ = describe_failure(ev);
    std::rethrow_exception(fault_error_);
  }
  events_ += n;
  return n;
}

// Execute, (reverse,) restore, execute again, compare.
void CheckPartition::check_event(const Event& ev) {
  const Location loc = where_[ev.dst];
  LocalGroup& lg = local_[loc.group];
  const GroupRuntime& gr = *lg.runtime;
  std::byte* block = lg.block(loc.slot);
  const std::vector<std::byte> before(block, block + gr.history_off);
  Execution first, second;
  capture_ = &first;
  dispatch(ev);
  const std::vector<std::byte> after(block, block + gr.history_off);
  auto fail = [&](const std::string& what) {
    const auto* h = gr.type->find_handler(ev.type);
    throw Error(fmt::format("rollback check: entity {} (type '{}') handling event '{}' from {} "
                            "at time {}: {}",
                            describe(ev.dst), gr.type->name, h ? h->type_name : "?",
                            describe(ev.src), ev.time, what),
                Error::Kind::kRuntime);
  };
  if (gr.type->reversible) {
    reverse(ev, lg, block);
    if (std::memcmp(block + gr.state_off, before.data() + gr.state_off,
                    gr.history_off - gr.state_off) != 0)
      fail("its reverse handler does not restore the State the event found (compare what "
           "on() changes with what reverse() undoes)");
  }
  std::memcpy(block, before.data(), gr.history_off);
  capture_ = &second;
  dispatch(ev);
  capture_ = nullptr;
  const char* impure =
      "; a handler must be a pure function of its State, the event, its random stream and its "
      "parameters (no globals, static or mutable members, clocks or I/O)";
  if (std::memcmp(block + gr.state_off, after.data() + gr.state_off, gr.history_off - gr.state_off) !=
      0)
    fail(std::string("executing it twice from the same state left different States") + impure);
  if (std::memcmp(block, after.data(), gr.state_off) != 0)
    fail(std::string("executing it twice from the same state drew different random numbers or "
                     "recorded different counters or gauges") +
         impure);
  bool same_sends = first.sends.size() == second.sends.size();
  for (std::size_t i = 0; same_sends && i < first.sends.size(); ++i)
    same_sends = std::memcmp(&first.sends[i], &second.sends[i], sizeof(Event)) == 0;
  if (!same_sends)
    fail(std::string("executing it twice from the same state sent different events") + impure);
  if (!same_effects(first.effects, second.effects))
    fail(std::string("executing it twice from the same state recorded different statistics") +
         impure);
  ++checks_;
  for (const Event& e : second.sends) queue_.push(e);  // one partition: all local
  for (const Effect& e : second.effects) store_.apply(e, ev.time);
}

}  // namespace dsim::detail
