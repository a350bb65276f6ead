#include "dsim/registry.hpp"

#include <dlfcn.h>
#include <fmt/format.h>

namespace dsim {

Registry::Registry() = default;

Registry::~Registry() {
  types_.clear();  // drop function pointers into plugins before unloading them
  for (void* handle : plugin_handles_) dlclose(handle);
}

void Registry::add_type(EntityTypeInfo info) {
  if (info.name.empty()) throw Error("an entity type needs a name");
  if (types_.count(info.name) != 0)
    throw Error(fmt::format("entity type '{}' is registered twice", info.name));
  for (std::size_t i = 0; i < info.handlers.size(); ++i)
    for (std::size_t j = 0; j < i; ++j)
      if (info.handlers[i].type_id == info.handlers[j].type_id)
        throw Error(fmt::format("entity type '{}': event types '{}' and '{}' have the same id",
                                info.name, info.handlers[i].type_name,
                                info.handlers[j].type_name));
  std::string name = info.name;
  types_.emplace(std::move(name), std::make_unique<EntityTypeInfo>(std::move(info)));
}

void Registry::load_plugin(const std::string& path) {
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) throw Error(fmt::format("plugin '{}': {}", path, dlerror()));
  using AbiFn = int (*)();
  using RegisterFn = void (*)(Registry&);
  auto abi = reinterpret_cast<AbiFn>(dlsym(handle, "dsim_plugin_abi_version"));
  auto reg = reinterpret_cast<RegisterFn>(dlsym(handle, "dsim_plugin_register"));
  if (abi == nullptr || reg == nullptr) {
    dlclose(handle);
    throw Error(fmt::format("plugin '{}': not a dsim plugin (no DSIM_PLUGIN entry point)", path));
  }
  if (abi() != kPluginAbiVersion) {
    const int got = abi();
    dlclose(handle);
    throw Error(fmt::format("plugin '{}': built for dsim plugin ABI {}, this dsim has {}; rebuild "
                            "it against this dsim",
                            path, got, kPluginAbiVersion));
  }
  plugin_handles_.push_back(handle);
  try {
    reg(*this);
  } catch (const Error& e) {
    throw Error(fmt::format("plugin '{}': {}", path, e.what()));
  }
}

const EntityTypeInfo* Registry::find(std::string_view name) const {
  auto it = types_.find(name);
  return it == types_.end() ? nullptr : it->second.get();
}

std::vector<const EntityTypeInfo*> Registry::types() const {
  std::vector<const EntityTypeInfo*> out;
  for (const auto& [name, info] : types_) out.push_back(info.get());
  return out;
}

}  // namespace dsim
