// validate(): the checks that need the registry (entity types, their
// parameters), plus the structural checks load_model() makes, repeated here for
// specs built in code. Afterwards every group holds every declared parameter
// with its declared type.
#include <fmt/format.h>

#include <cmath>

#include "config/names.hpp"
#include "config/topology.hpp"
#include "dsim/message.hpp"
#include "dsim/model_spec.hpp"
#include "dsim/registry.hpp"

namespace dsim {
namespace {

using config::contains;
using config::did_you_mean;
using config::join_names;

[[noreturn]] void fail(const SourceLocation& at, std::string_view key, std::string_view message) {
  throw Error(fmt::format("{}: {}: {}", at.str(), clip(key), message));
}

std::string real_text(double v) { return to_string(ParamValue(v)); }

std::string_view value_type(const ParamValue& v) {
  switch (v.index()) {
    case 0:
      return "bool";
    case 1:
      return "int";
    case 2:
      return "real";
    default:
      return "string";
  }
}

void check_name(const SourceLocation& at, std::string_view key, const std::string& value,
                std::span<const std::string_view> names, std::string_view what) {
  if (!contains(names, value))
    fail(at, key,
         fmt::format("unknown {} '{}'{} (expected {})", what, clip(value),
                     did_you_mean(value, names), join_names(names)));
}

void check_simulation(const ModelSpec& spec) {
  const SimulationSpec& s = spec.simulation;
  if (!(s.end_time > 0) || !std::isfinite(s.end_time))
    fail(s.location, "simulation.end_time",
         fmt::format("must be a finite number > 0 (got {})", real_text(s.end_time)));
  check_name(s.location, "simulation.sync", s.sync, config::kSyncModes, "sync mode");
  check_name(s.location, "simulation.partitioner", s.partitioner, config::kPartitioners,
             "partitioner");
  check_name(s.location, "simulation.queue", s.queue, config::kQueues, "event queue");
  check_name(s.location, "simulation.state_saving", s.state_saving, config::kStateSavings,
             "state saving mode");
  if (s.state_saving_period < 1 || s.state_saving_period > config::kMaxStateSavingPeriod)
    fail(s.location, "simulation.state_saving_period",
         fmt::format("must be >= 1 and <= {} (got {})", config::kMaxStateSavingPeriod,
                     s.state_saving_period));
}

// The value `v` given for parameter `decl`, converted to the declared type.
ParamValue typed_value(const ParamDecl& decl, ParamValue v, const SourceLocation& at,
                       std::string_view key) {
  auto wrong = [&] {
    fail(at, key,
         fmt::format("expected {} {}, got {} {}", decl.type == ParamType::kInt ? "an" : "a",
                     to_string(decl.type), value_type(v), clip(to_string(v))));
  };
  switch (decl.type) {
    case ParamType::kBool:
      if (!std::holds_alternative<bool>(v)) wrong();
      break;
    case ParamType::kInt:
      if (!std::holds_alternative<std::int64_t>(v)) wrong();
      break;
    case ParamType::kReal:
      if (const auto* i = std::get_if<std::int64_t>(&v)) v = static_cast<double>(*i);
      if (!std::holds_alternative<double>(v)) wrong();
      break;
    case ParamType::kString:
      if (!std::holds_alternative<std::string>(v)) wrong();
      break;
    case ParamType::kDistribution: {
      const auto* text = std::get_if<std::string>(&v);
      if (text == nullptr)
        fail(at, key,
             fmt::format("expected a distribution string such as \"exp(mean=1)\", got {} {}",
                         value_type(v), clip(to_string(v))));
      try {
        (void)Distribution::parse(*text);
      } catch (const Error& e) {
        // (The parser's message may repeat the whole text.)
        fail(at, key,
             fmt::format("bad distribution {}: {}", clip(to_string(v)),
                         clip(e.what(), kClipMessageChars)));
      }
      break;
    }
  }
  return v;
}

void check_group(GroupSpec& g, std::size_t index, const Registry& registry) {
  const std::string path = fmt::format("entities[{}]", index);
  const EntityTypeInfo* info = registry.find(g.type);
  if (info == nullptr) {
    std::vector<std::string_view> known;
    for (const EntityTypeInfo* t : registry.types()) known.push_back(t->name);
    std::string hint = did_you_mean(g.type, known);
    fail(g.location, path + ".type",
         fmt::format("unknown entity type '{}'{} (known types: {})", clip(g.type), hint,
                     known.empty() ? std::string("none") : join_names(known, ", ")));
  }

  std::vector<std::string_view> declared;
  for (const ParamDecl& d : info->params.decls()) declared.push_back(d.name);

  std::map<std::string, ParamValue, std::less<>> resolved;
  for (auto& [name, value] : g.params) {
    auto loc_it = g.param_locations.find(name);
    const SourceLocation& at = loc_it != g.param_locations.end() ? loc_it->second : g.location;
    const std::string key = fmt::format("{}.params.{}", path, name);
    const ParamDecl* decl = info->params.find(name);
    if (decl == nullptr) {
      std::string hint = did_you_mean(name, declared);
      if (hint.empty())
        hint = declared.empty() ? std::string(" (it takes no parameters)")
                                : fmt::format(" (it takes: {})", join_names(declared, ", "));
      fail(at, key,
           fmt::format("unknown parameter '{}' for entity type '{}'{}", clip(name), g.type, hint));
    }
    resolved.emplace(name, typed_value(*decl, value, at, key));
  }
  for (const ParamDecl& d : info->params.decls()) {
    if (resolved.count(d.name) != 0) continue;
    if (!d.default_value)
      fail(g.location, path + ".params",
           fmt::format("missing required parameter '{}' ({}{}) of entity type '{}'", d.name,
                       to_string(d.type), d.doc.empty() ? "" : ": " + d.doc, g.type));
    resolved.emplace(d.name, *d.default_value);
  }
  g.params = std::move(resolved);
}

}  // namespace

void validate(ModelSpec& spec, const Registry& registry) {
  check_simulation(spec);
  if (spec.groups.empty())
    fail(SourceLocation{spec.file, 0, 0}, "entities", "the model has no entity groups");

  std::uint64_t total = 0;
  for (std::size_t i = 0; i < spec.groups.size(); ++i) {
    GroupSpec& g = spec.groups[i];
    const std::string path = fmt::format("entities[{}]", i);
    if (g.name.empty()) fail(g.location, path + ".name", "group name must not be empty");
    for (std::size_t j = 0; j < i; ++j)
      if (spec.groups[j].name == g.name)
        fail(g.location, path + ".name",
             fmt::format("duplicate group name '{}' (first defined at {})", clip(g.name),
                         spec.groups[j].location.str()));
    if (g.count < 1 || g.count >= kMaxEntities)
      fail(g.location, path + ".count",
           fmt::format("must be >= 1 and < {} (got {})", kMaxEntities, g.count));
    total += g.count;
    if (total >= kMaxEntities)
      fail(g.location, path,
           fmt::format("the model has {} entities up to this group, more than the {} allowed",
                       total, kMaxEntities - 1));
    check_group(g, i, registry);
  }

  for (std::size_t i = 0; i < spec.links.size(); ++i) {
    const LinkSpec& l = spec.links[i];
    const std::string path = fmt::format("links[{}]", i);
    for (const std::string* end : {&l.from, &l.to}) {
      bool found = false;
      for (const GroupSpec& g : spec.groups) found = found || g.name == *end;
      if (!found)
        fail(l.location, path + (end == &l.from ? ".from" : ".to"),
             fmt::format("no entity group named '{}'", clip(*end)));
    }
    check_name(l.location, path + ".topology", l.topology.kind, config::topology_kinds(),
               "topology");
    if (l.lookahead && !(*l.lookahead >= 0 && std::isfinite(*l.lookahead)))
      fail(l.location, path + ".lookahead",
           fmt::format("must be a finite number >= 0 (got {})", real_text(*l.lookahead)));
    if (!(l.weight > 0) || !std::isfinite(l.weight))
      fail(l.location, path + ".weight",
           fmt::format("must be a finite number > 0 (got {})", real_text(l.weight)));
  }

  const OutputSpec& o = spec.output;
  if (o.directory.empty()) fail(o.location, "output.directory", "must not be empty");
  if (!(o.sample_interval >= 0) || !std::isfinite(o.sample_interval))
    fail(o.location, "output.sample_interval",
         fmt::format("must be a finite number >= 0 (got {})", real_text(o.sample_interval)));
  for (const std::string& f : o.formats)
    check_name(o.location, "output.formats", f, config::kOutputFormats, "output format");

  const CheckpointSpec& c = spec.checkpoint;
  if (!(c.every >= 0) || !std::isfinite(c.every))
    fail(c.location, "checkpoint.every",
         fmt::format("must be a finite number >= 0 (got {})", real_text(c.every)));
  if (!(c.wall_every >= 0) || !std::isfinite(c.wall_every))
    fail(c.location, "checkpoint.wall_every",
         fmt::format("must be a finite number of seconds >= 0 (got {})", real_text(c.wall_every)));
  if (c.keep < 1) fail(c.location, "checkpoint.keep", "must be >= 1 (got 0)");

  spec.validated = true;
}

}  // namespace dsim
