// The reference models: PHOLD (models/phold) and the SIR/SEIR epidemic
// (models/epidemic), entity types written against the public API like any
// user model. They live in their own library, libdsim_models (CMake target
// dsim::models), not in libdsim: link it to use them.
//
//   dsim::Registry registry;
//   dsim::register_builtins(registry);          // blocks (libdsim)
//   dsim::register_reference_models(registry);  // phold, epidemic (libdsim_models)
//   auto spec = dsim::load_model("models/phold/phold.toml");
//
// The `dsim` program registers both, so every config under models/ runs.
#pragma once

#include "dsim/export.hpp"
#include "dsim/registry.hpp"

namespace dsim {

// Registers the types "phold" and "epidemic". Throws dsim::Error if either
// name is already taken in `registry`.
DSIM_MODELS_API void register_reference_models(Registry& registry);

}  // namespace dsim
