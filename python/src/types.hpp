// Entity types written in Python: what pydsim._core adds to the registries it
// makes (python/src/types.cpp).
#pragma once

#include <pybind11/pybind11.h>

#include <string>

#include "dsim/registry.hpp"

namespace pydsim {

// The exception classes pydsim.InputError and pydsim.RunError (core.cpp).
PyObject* input_error_type();
PyObject* run_error_type();

// "Python type NAME: HEAD" and, when TEXT says more (a traceback), TEXT.
std::string fmt_error(const std::string& type, const std::string& head, const std::string& text);

// Adds every Python type registered so far to `registry` (skipping names it
// has) and makes it load ".py" plugins. REQUIRES: the GIL.
void enable_python_types(dsim::Registry& registry);

// The classes handlers and constructors see: Context (its random stream too), Setup,
// Statistic, Distribution.
void bind_types(pybind11::module_& m);

}  // namespace pydsim
