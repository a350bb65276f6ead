// SourceLocation text and the JSON form of a ModelSpec (manifest.json,
// checkpoints, `dsim validate`; model_from_json reads it back). Keys appear in a fixed order so the text of a spec is
// stable from run to run.
#include "dsim/model_spec.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

namespace dsim {
namespace {

using Json = nlohmann::ordered_json;

Json param_json(const ParamValue& value) {
  return std::visit([](const auto& v) { return Json(v); }, value);
}

Json topology_json(const TopologyOptions& t) {
  Json j;
  j["kind"] = t.kind;
  auto put = [&](const char* key, const std::optional<std::int64_t>& v) {
    if (v) j[key] = *v;
  };
  put("k", t.k);
  put("degree", t.degree);
  put("m", t.m);
  put("edges", t.edges);
  put("rows", t.rows);
  put("cols", t.cols);
  if (t.p) j["p"] = *t.p;
  if (!t.file.empty()) j["file"] = t.file;
  if (t.kind == "edge_list" || t.symmetric) j["symmetric"] = t.symmetric;
  return j;
}

}  // namespace

std::string SourceLocation::str() const {
  if (file.empty()) return "<code>";
  if (line <= 0) return file;
  if (column <= 0) return fmt::format("{}:{}", file, line);
  return fmt::format("{}:{}:{}", file, line, column);
}

std::string to_json(const ModelSpec& spec) {
  Json j;
  j["file"] = spec.file;
  j["validated"] = spec.validated;

  const SimulationSpec& s = spec.simulation;
  j["simulation"] = {{"end_time", s.end_time},
                     {"seed", s.seed},
                     {"sync", s.sync},
                     {"threads", s.threads},
                     {"partitioner", s.partitioner},
                     {"queue", s.queue},
                     {"memory_limit", s.memory_limit},
                     {"state_saving", s.state_saving},
                     {"state_saving_period", s.state_saving_period}};
  if (s.topology_seed) j["simulation"]["topology_seed"] = *s.topology_seed;
  j["plugins"] = spec.plugins;

  Json groups = Json::array();
  for (const GroupSpec& g : spec.groups) {
    Json params = Json::object();
    for (const auto& [name, value] : g.params) params[name] = param_json(value);
    groups.push_back(
        {{"name", g.name}, {"type", g.type}, {"count", g.count}, {"params", std::move(params)}});
  }
  j["entities"] = std::move(groups);

  Json links = Json::array();
  for (const LinkSpec& l : spec.links) {
    links.push_back({{"from", l.from},
                     {"to", l.to},
                     {"topology", topology_json(l.topology)},
                     {"lookahead", l.lookahead ? Json(*l.lookahead) : Json(nullptr)},
                     {"weight", l.weight}});
  }
  j["links"] = std::move(links);

  const OutputSpec& o = spec.output;
  j["output"] = {
      {"directory", o.directory}, {"sample_interval", o.sample_interval}, {"formats", o.formats}};

  const CheckpointSpec& c = spec.checkpoint;
  j["checkpoint"] = {{"every", c.every},
                     {"wall_every", c.wall_every},
                     {"directory", c.directory},
                     {"keep", c.keep}};
  return j.dump(2);
}

}  // namespace dsim
