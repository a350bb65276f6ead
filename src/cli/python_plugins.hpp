// ".py" plugins (entity types written in Python) for the dsim program.
#pragma once

#include "dsim/registry.hpp"

namespace dsim::cli {

// Makes `registry` load ".py" plugins: the first one starts Python in this
// process (libpython, loaded when needed) with the package pydsim of this
// build or installation, which runs the script and registers its types.
// Without pydsim (built with -DDSIM_BUILD_PYTHON=OFF) such a plugin is an
// error saying so.
void enable_python_plugins(Registry& registry);

}  // namespace dsim::cli
