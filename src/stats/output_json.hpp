// Pieces of the result files that other writers of run records share (the
// checkpoint format keeps the run figures as manifest.json's "run" object).
//
// Thread safety: plain functions of their arguments (utc_timestamp reads the
// clock).
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "dsim/results.hpp"

namespace dsim::output {

// RunFigures as manifest.json's "run" object (non-finite numbers as null).
nlohmann::ordered_json figures_json(const RunFigures& figures);
// And back: missing keys and nulls keep their defaults. Throws
// nlohmann::json::exception for a value of the wrong type.
RunFigures figures_from_json(const nlohmann::ordered_json& j);

// The current UTC time, "2026-12-02T18:00:00Z".
std::string utc_timestamp();

}  // namespace dsim::output
