// The set of entity types a simulation can instantiate by name, and the
// payload types they exchange. Owned by the caller and passed explicitly (no
// global registry, DESIGN.md invariant 8).
//
//   dsim::Registry registry;
//   dsim::register_builtins(registry);         // the built-in blocks
//   registry.add<MyEntity>("my_entity", "what it does");
//   registry.load_plugin("build/libmymodel.so");
//
// Stable identities: an entity type is known by its registered name, a payload
// type by its declared name (dsim/payload.hpp) and the id derived from it.
// Both are the same in every build and on every machine, so checkpoints and
// traces store them. Registration refuses what would make an id ambiguous:
// two payload names with one id, one name with two ids, and one name for
// payloads of different sizes (the same payload handled by several entity
// types, like the blocks' "blocks.job", is fine).
//
// Thread safety: registration is not thread-safe; once registration is done,
// const members may be called from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dsim/entity.hpp"
#include "dsim/export.hpp"

namespace dsim {

// 2: payload ids derive from declared names (dsim/payload.hpp).
// 3: EntityTypeInfo::make is a std::function; types carry an owner.
inline constexpr int kPluginAbiVersion = 3;

// A payload type as the registry knows it, gathered from the handlers of the
// registered entity types.
struct PayloadType {
  std::uint32_t id = 0;    // what events carry: payload_id<P>()
  std::string name;        // payload_name<P>()
  std::uint32_t size = 0;  // bytes (0 for an empty struct)
  // The entity types that handle it, in registration order.
  std::vector<std::string> entity_types;
};

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
  // Throws dsim::Error, and registers nothing, if the name is taken, or if a
  // payload it handles conflicts with one already registered (or with another
  // of its own): two names with one id, one name with two ids, or one name
  // with two sizes. The message names the payloads, their C++ types and the
  // entity types.
  void add_type(EntityTypeInfo info);

  // Loads a shared library that defines DSIM_PLUGIN and lets it register its
  // types. Throws dsim::Error naming the path on failure. The library stays
  // loaded for the Registry's lifetime.
  // A path ending in ".py" is a script of entity types written in Python: it
  // goes to the script loader (set_script_loader), or, without one, throws
  // dsim::Error saying that this host cannot load Python.
  void load_plugin(const std::string& path);

  // Loads the plugins of a config, then those named elsewhere (a command
  // line), each library once however it is named (relative paths are
  // relative to the current directory; a bare name that is no file here is
  // left to the loader's search path).
  void load_plugins(const std::vector<std::string>& from_config,
                    const std::vector<std::string>& from_elsewhere = {});

  // What loads a ".py" plugin into this registry (pydsim sets it on the
  // registries it makes; the dsim program sets one that starts Python).
  using ScriptLoader = std::function<void(Registry& registry, const std::string& path)>;
  void set_script_loader(ScriptLoader loader) { script_loader_ = std::move(loader); }

  const EntityTypeInfo* find(std::string_view name) const;
  // All types, sorted by name.
  std::vector<const EntityTypeInfo*> types() const;

  // The payload type with this id or this name; nullptr if no registered
  // entity type handles one.
  const PayloadType* find_payload(std::uint32_t id) const;
  const PayloadType* find_payload(std::string_view name) const;
  // All payload types the registered entity types handle, sorted by name.
  std::vector<const PayloadType*> payloads() const;

 private:
  struct PayloadRecord {
    PayloadType type;
    std::string cpp_name;  // of the first registration, for messages
  };

  std::map<std::string, std::unique_ptr<EntityTypeInfo>, std::less<>> types_;
  std::map<std::uint32_t, PayloadRecord> payloads_;                // by id
  std::map<std::string, std::uint32_t, std::less<>> payload_ids_;  // name -> id
  std::vector<void*> plugin_handles_;
  ScriptLoader script_loader_;
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
