#include "dsim/registry.hpp"

#include <dlfcn.h>
#include <fmt/format.h>

#include <filesystem>
#include <set>

namespace dsim {

Registry::Registry() = default;

Registry::~Registry() {
  types_.clear();  // drop function pointers into plugins before unloading them
  for (void* handle : plugin_handles_) dlclose(handle);
}

namespace {

// One handler's payload, as registration compares them.
struct PayloadUse {
  std::uint32_t id;
  std::string_view name;
  std::uint32_t size;
  std::string_view cpp_name;
  std::string_view entity_type;
};

PayloadUse use_of(const EntityTypeInfo::Handler& h, std::string_view entity_type) {
  return {h.type_id, h.type_name, h.payload_size,
          h.cpp_name.empty() ? std::string_view("?") : h.cpp_name, entity_type};
}

// Throws dsim::Error when `b` cannot be registered beside `a`: both must be
// one payload (same name, id and size) or have different names and ids.
void check_compatible(const PayloadUse& a, const PayloadUse& b) {
  if (a.name != b.name && a.id == b.id)
    throw Error(fmt::format(
        "event types '{}' (C++ type '{}', entity type '{}') and '{}' (C++ type '{}', entity "
        "type '{}') have the same id {:#010x}; rename one of them or declare a different id "
        "(dsim_id, see dsim/payload.hpp)",
        a.name, a.cpp_name, a.entity_type, b.name, b.cpp_name, b.entity_type, a.id));
  if (a.name == b.name && a.id != b.id)
    throw Error(fmt::format(
        "event type '{}' has id {:#010x} in entity type '{}' (C++ type '{}') but {:#010x} in "
        "entity type '{}' (C++ type '{}'); one name has one id: declare the same id (dsim_id) "
        "for both, or none",
        a.name, a.id, a.entity_type, a.cpp_name, b.id, b.entity_type, b.cpp_name));
  if (a.name == b.name && a.size != b.size)
    throw Error(fmt::format(
        "event type '{}' is {} bytes in entity type '{}' (C++ type '{}') but {} bytes in "
        "entity type '{}' (C++ type '{}'); one name is one payload layout: rename one of them",
        a.name, a.size, a.entity_type, a.cpp_name, b.size, b.entity_type, b.cpp_name));
}

}  // namespace

void Registry::add_type(EntityTypeInfo info) {
  if (info.name.empty()) throw Error("an entity type needs a name");
  if (types_.count(info.name) != 0)
    throw Error(fmt::format("entity type '{}' is registered twice", info.name));
  // Check every payload first: a refused type leaves the registry unchanged.
  for (std::size_t i = 0; i < info.handlers.size(); ++i) {
    const PayloadUse use = use_of(info.handlers[i], info.name);
    if (!detail::valid_payload_name(use.name))
      throw Error(
          fmt::format("entity type '{}': event type '{}' (C++ type '{}') has no valid "
                      "name (1 to {} characters from letters, digits, '.', '_' and '-')",
                      info.name, use.name, use.cpp_name, kMaxPayloadNameLength));
    for (std::size_t j = 0; j < i; ++j) {
      const PayloadUse earlier = use_of(info.handlers[j], info.name);
      if (earlier.name == use.name && earlier.id == use.id)
        throw Error(
            fmt::format("entity type '{}' handles event type '{}' twice (C++ types '{}' "
                        "and '{}')",
                        info.name, use.name, earlier.cpp_name, use.cpp_name));
      check_compatible(earlier, use);
    }
    // Against the registered payload with this id, and the one with this name.
    auto check_against = [&](std::uint32_t id) {
      const PayloadRecord& r = payloads_.at(id);
      check_compatible(
          {r.type.id, r.type.name, r.type.size, r.cpp_name, r.type.entity_types.front()}, use);
    };
    if (payloads_.count(use.id) != 0) check_against(use.id);
    if (auto it = payload_ids_.find(use.name); it != payload_ids_.end()) check_against(it->second);
  }
  for (const auto& h : info.handlers) {
    auto [it, added] = payloads_.try_emplace(h.type_id);
    PayloadRecord& r = it->second;
    if (added) {
      r.type.id = h.type_id;
      r.type.name = std::string(h.type_name);
      r.type.size = h.payload_size;
      r.cpp_name = std::string(h.cpp_name);
      payload_ids_.emplace(r.type.name, h.type_id);
    }
    r.type.entity_types.push_back(info.name);
  }
  std::string name = info.name;
  types_.emplace(std::move(name), std::make_unique<EntityTypeInfo>(std::move(info)));
}

void Registry::load_plugin(const std::string& path) {
  if (path.size() > 3 && path.ends_with(".py")) {
    if (!script_loader_)
      throw Error(fmt::format("plugin '{}': a Python file, and this program cannot load Python "
                              "types (pydsim and the dsim program can)",
                              path));
    script_loader_(*this, path);
    return;
  }
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

void Registry::load_plugins(const std::vector<std::string>& from_config,
                            const std::vector<std::string>& from_elsewhere) {
  namespace fs = std::filesystem;
  std::set<fs::path> loaded;
  auto load = [&](const std::string& name) {
    fs::path path = name;
    if (path.has_parent_path() || fs::exists(path)) path = fs::absolute(path);
    std::error_code ec;
    fs::path key = fs::weakly_canonical(path, ec);
    if (ec) key = path;
    if (!loaded.insert(key).second) return;
    load_plugin(path.string());
  };
  for (const auto& p : from_config) load(p);
  for (const auto& p : from_elsewhere) load(p);
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

const PayloadType* Registry::find_payload(std::uint32_t id) const {
  auto it = payloads_.find(id);
  return it == payloads_.end() ? nullptr : &it->second.type;
}

const PayloadType* Registry::find_payload(std::string_view name) const {
  auto it = payload_ids_.find(name);
  return it == payload_ids_.end() ? nullptr : find_payload(it->second);
}

std::vector<const PayloadType*> Registry::payloads() const {
  std::vector<const PayloadType*> out;
  for (const auto& [name, id] : payload_ids_) out.push_back(find_payload(id));
  return out;
}

}  // namespace dsim
