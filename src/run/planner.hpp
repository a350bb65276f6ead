// The planner: how a run will be laid out (engine, threads, which partition
// each entity lives in, the conservative window, the optimistic memory cap),
// decided from the spec, the built model's link graph, the machine and the
// number of processes, before any event runs. Pure: it reads the Model and
// changes nothing; the run applies the plan (Simulation::Impl::make_plan).
//
//   RunPlan plan = plan_run(spec, model, machine, ranks);
//   // plan.partition_of[id]: the partition of entity id, partition p on
//   // rank p / plan.threads; plan.partition_entities.size() partitions.
//
// Thread safety: reads its arguments only; any number of threads may call it.
#pragma once

#include <cstdint>

#include "core/model.hpp"
#include "dsim/environment.hpp"
#include "dsim/model_spec.hpp"
#include "dsim/simulation.hpp"

namespace dsim::detail {

// Throws dsim::Error for a layout that cannot run, naming the cause (too many
// threads; conservative sync with a zero-lookahead link between partitions).
// The same arguments give the same plan on every process.
// REQUIRES: `spec` validated; `model` built from it; ranks >= 1.
RunPlan plan_run(const ModelSpec& spec, const Model& model, const Machine& machine,
                 std::uint32_t ranks);

}  // namespace dsim::detail
