// Everything a model author needs, and what a host needs to run models and
// write their results (libdsim). The reference models have their own header
// and library: dsim/reference_models.hpp, libdsim_models.
#pragma once

#include "dsim/context.hpp"
#include "dsim/distribution.hpp"
#include "dsim/engine.hpp"
#include "dsim/entity.hpp"
#include "dsim/export.hpp"
#include "dsim/model_spec.hpp"
#include "dsim/output.hpp"
#include "dsim/params.hpp"
#include "dsim/random.hpp"
#include "dsim/registry.hpp"
#include "dsim/results.hpp"
#include "dsim/setup.hpp"
#include "dsim/simulation.hpp"
#include "dsim/stats.hpp"
#include "dsim/types.hpp"
