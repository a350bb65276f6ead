// What an entity type's constructor sees: its group's name, size and
// parameters, and the place to declare statistics. One behaviour object is
// built per group and shared (read-only) by all of the group's entities.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dsim/export.hpp"
#include "dsim/params.hpp"
#include "dsim/stats.hpp"

namespace dsim {

class DSIM_API Setup {
 public:
  Setup(std::string_view group, std::uint64_t count, const Params& params,
        std::vector<StatDecl>* stats)
      : group_(group), count_(count), params_(params), stats_(stats) {}

  std::string_view group() const { return group_; }
  std::uint64_t count() const { return count_; }
  const Params& params() const { return params_; }

  bool param_bool(std::string_view name) const { return params_.get_bool(name); }
  std::int64_t param_int(std::string_view name) const { return params_.get_int(name); }
  double param_real(std::string_view name) const { return params_.get_real(name); }
  const std::string& param_string(std::string_view name) const {
    return params_.get_string(name);
  }
  Distribution param_distribution(std::string_view name) const {
    return params_.get_distribution(name);
  }

  // Declares a statistic; names are unique within the type (dsim::Error if not).
  Counter counter(std::string name, std::string doc = {});
  Tally tally(std::string name, std::string doc = {});
  Gauge gauge(std::string name, std::string doc = {});
  // REQUIRES: lo < hi, 1 <= bins <= 1'000'000.
  Histogram histogram(std::string name, double lo, double hi, std::uint32_t bins,
                      std::string doc = {});

 private:
  std::uint32_t declare(StatDecl decl);

  std::string group_;
  std::uint64_t count_;
  const Params& params_;
  std::vector<StatDecl>* stats_;
};

}  // namespace dsim
