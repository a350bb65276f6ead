#include "blocks/common.hpp"

#include <cmath>
#include <span>
#include <string>

#include "dsim/message.hpp"

namespace dsim::blocks {

void bad_param(std::string_view name, const ParamValue& value, std::string_view requirement) {
  throw Error("parameter '" + std::string(name) + "' = " + clip(to_string(value)) + " " +
              std::string(requirement));
}

void declare_transfer(ParamSpec& params) {
  params.add("transfer", 0.0,
             "delay added to every departure; must be >= the outgoing link's lookahead");
}

Time read_transfer(const Setup& setup) {
  const double transfer = setup.param_real("transfer");
  if (!(transfer >= 0.0 && std::isfinite(transfer)))
    bad_param("transfer", transfer, "must be finite and >= 0");
  return transfer;
}

namespace {

// Sum of the weights, or a reason they cannot route a job.
double total_weight(std::span<const double> weights, std::string* why) {
  double total = 0;
  for (double w : weights) {
    if (!(w >= 0.0 && std::isfinite(w))) {
      *why = "a link weight is " + std::to_string(w) + "; weights must be finite and >= 0";
      return 0;
    }
    total += w;
  }
  if (!(total > 0)) *why = "all outgoing link weights are 0";
  return total;
}

std::string no_link_message(const Context& ctx) {
  return "has no outgoing link to send jobs along; declare a [[links]] entry from '" +
         std::string(ctx.group_name()) + "'";
}

}  // namespace

void require_neighbours(Context& ctx) {
  const auto weights = ctx.neighbour_weights();
  if (weights.empty()) ctx.fail(no_link_message(ctx));
  if (weights.size() == 1) return;
  std::string why;
  total_weight(weights, &why);
  if (!why.empty()) ctx.fail(why);
}

EntityId pick_neighbour(Context& ctx) {
  const auto targets = ctx.neighbours();
  if (targets.size() == 1) return targets[0];
  if (targets.empty()) ctx.fail(no_link_message(ctx));
  const auto weights = ctx.neighbour_weights();
  std::string why;
  const double total = total_weight(weights, &why);
  if (!why.empty()) ctx.fail(why);
  const double u = ctx.rng().uniform() * total;
  double cumulative = 0;
  std::size_t last_positive = 0;
  for (std::size_t i = 0; i < targets.size(); ++i) {
    if (weights[i] <= 0) continue;
    cumulative += weights[i];
    last_positive = i;
    if (u < cumulative) return targets[i];
  }
  return targets[last_positive];  // u within rounding of the total
}

}  // namespace dsim::blocks
