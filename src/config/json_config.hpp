// A model's JSON form (dsim::to_json's) as the config's TOML tables, so that
// model_from_json() checks a recorded model with the loader that checks config
// files: same keys, same messages, same --set.
#pragma once

#include <toml++/toml.h>

#include <string>
#include <string_view>

namespace dsim::config {

// The document a config file with the same content would parse into:
//   - "file" and "validated" are dropped (they describe a spec, not a model);
//   - a link's "topology" object {kind, k, ...} becomes `topology = kind` and
//     its options beside it, as a [[links]] table writes them;
//   - null values (a link without lookahead) and an empty
//     checkpoint.directory (the default) are dropped;
//   - integers stay integers and floats floats; an integer above TOML's range
//     is kept as a string of digits for simulation.seed (which accepts one)
//     and refused elsewhere.
// Every other key is kept as it is, for the loader to accept or refuse.
// `name` stands for the file in messages. Throws dsim::Error (kInput) for text
// that is not JSON, a top level that is not an object, nesting deeper than any
// model's, or a topology object without a kind.
toml::table table_from_json(std::string_view json, const std::string& name);

}  // namespace dsim::config
