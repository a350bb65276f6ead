#include "dsim/results.hpp"

#include <fmt/format.h>

namespace dsim {

const StatResult* RunResult::find(std::string_view group, std::string_view stat) const {
  for (const StatResult& s : stats)
    if (s.group == group && s.stat == stat) return &s;
  return nullptr;
}

double RunResult::value(std::string_view group, std::string_view stat,
                        std::string_view field) const {
  const StatResult* s = find(group, stat);
  if (s == nullptr)
    throw Error(fmt::format("no statistic '{}' in group '{}' in the results", stat, group));
  for (const auto& [name, v] : s->fields)
    if (name == field) return v;
  throw Error(fmt::format("statistic '{}.{}' has no field '{}'", group, stat, field));
}

}  // namespace dsim
