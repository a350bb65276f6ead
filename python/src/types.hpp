// Entity types written in Python: what pydsim._core adds to the registries it
// makes (python/src/types.cpp).
#pragma once

#include <pybind11/pybind11.h>

#include <memory>
#include <string>

#include "dsim/registry.hpp"

namespace pydsim {

// Owns `p` and deletes it with the GIL held, from whichever thread drops
// the last reference (for what holds Python objects and travels into the
// engine's threads).
template <class T>
std::shared_ptr<T> gil_shared(T* p) {
  return std::shared_ptr<T>(p, [](T* q) {
    if (!Py_IsInitialized()) return;  // the interpreter is gone: leak rather than crash
    pybind11::gil_scoped_acquire gil;
    delete q;
  });
}

// The exception classes pydsim.InputError and pydsim.RunError (core.cpp).
PyObject* input_error_type();
PyObject* run_error_type();

// Adds every Python type registered so far to `registry` (skipping names it
// has) and makes it load ".py" plugins. REQUIRES: the GIL.
void enable_python_types(dsim::Registry& registry);

// The classes handlers and constructors see: Context (its random stream too), Setup,
// Statistic, Distribution.
void bind_types(pybind11::module_& m);

}  // namespace pydsim
