// What the dsim shared libraries export. They are built with hidden symbols
// (-fvisibility=hidden -fvisibility-inlines-hidden): only what the public
// headers mark DSIM_API (libdsim) or DSIM_MODELS_API (libdsim_models) is
// visible to programs and plugins; the engine's internals are not, so they
// can change without breaking anything built against an installed dsim.
//
// A class is marked when the library defines some of its members; its inline
// members stay in the headers (each program or plugin compiles its own copy).
//
//   class DSIM_API Registry { ... };          // every member the library defines
//   DSIM_API void register_builtins(Registry&);
//
// Programs and plugins include this header like any other; they need define
// nothing.
#pragma once

#if defined(__GNUC__) || defined(__clang__)
#define DSIM_API __attribute__((visibility("default")))
#else
#define DSIM_API
#endif

// The reference models' library (include/dsim/reference_models.hpp).
#define DSIM_MODELS_API DSIM_API
