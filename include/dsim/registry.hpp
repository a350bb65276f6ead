// The set of entity types a simulation can instantiate by name. Owned by the
// caller and passed explicitly (no global registry, DESIGN.md invariant 8).
//
//   dsim::Registry registry;
//   dsim::register_builtins(registry);         // the built-in blocks
//   registry.add<MyEntity>("my_entity", "what it does");
//   registry.load_plugin("build/libmymodel.so");
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dsim/entity.hpp"
#include "dsim/export.hpp"

namespace dsim {

inline constexpr int kPluginAbiVersion = 1;

class DSIM_API Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  template <EntityType T>
  void add(std::string name, std::string doc) {
    add_type(make_entity_type<T>(std::move(name), std::move(doc)));
  }
  // Throws dsim::Error if the name is taken.
  void add_type(EntityTypeInfo info);

  // Loads a shared library that defines DSIM_PLUGIN and lets it register its
  // types. Throws dsim::Error naming the path on failure. The library stays
  // loaded for the Registry's lifetime.
  void load_plugin(const std::string& path);

  const EntityTypeInfo* find(std::string_view name) const;
  // All types, sorted by name.
  std::vector<const EntityTypeInfo*> types() const;

 private:
  std::map<std::string, std::unique_ptr<EntityTypeInfo>, std::less<>> types_;
  std::vector<void*> plugin_handles_;
};

// Registers the built-in blocks (source, queue, delay, router, sink). The
// reference models (phold, epidemic) are in libdsim_models:
// register_reference_models() in dsim/reference_models.hpp.
DSIM_API void register_builtins(Registry& registry);

}  // namespace dsim

// Entry point of a plugin library:
//   DSIM_PLUGIN(registry) { registry.add<MyEntity>("my_entity", "doc"); }
// Both functions are exported (DSIM_API) even when the plugin is compiled
// with hidden symbols.
#define DSIM_PLUGIN(registry_name)                                                        \
  extern "C" DSIM_API int dsim_plugin_abi_version() { return ::dsim::kPluginAbiVersion; } \
  extern "C" DSIM_API void dsim_plugin_register(::dsim::Registry& registry_name)
