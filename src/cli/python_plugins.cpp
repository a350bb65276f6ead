#include "cli/python_plugins.hpp"

#include <dlfcn.h>
#include <fmt/format.h>
#include <unistd.h>

#include <filesystem>
#include <mutex>
#include <string>

#include "dsim/types.hpp"

namespace dsim::cli {
namespace {

namespace fs = std::filesystem;

#ifdef DSIM_LIBPYTHON
using LoadScript = void (*)(Registry&, const std::string&);

// The folder of the package pydsim: BUILD/python/pydsim beside a dsim in its
// build folder, PREFIX/DSIM_PYTHON_INSTALL_DIR for an installed one.
fs::path pydsim_folder() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return {};
  const fs::path dir = exe.parent_path();
  for (const fs::path& candidate :
       {dir / "python" / "pydsim", dir.parent_path() / DSIM_PYTHON_INSTALL_DIR})
    if (fs::exists(candidate / "__init__.py", ec)) return candidate;
  return {};
}

LoadScript start_python(const std::string& plugin) {
  static std::once_flag once;
  static LoadScript load = nullptr;
  static std::string error;
  std::call_once(once, [] {
    // RTLD_GLOBAL: the module (like every Python extension) finds the
    // interpreter's symbols in the process.
    if (dlopen(DSIM_LIBPYTHON, RTLD_NOW | RTLD_GLOBAL) == nullptr) {
      error = fmt::format("Python types need {} (Debian: apt-get install libpython3-dev): {}",
                          DSIM_LIBPYTHON, dlerror());
      return;
    }
    const fs::path folder = pydsim_folder();
    if (folder.empty()) {
      error = "Python types need pydsim, and there is none beside this dsim program (build the "
              "target pydsim, or install it)";
      return;
    }
    fs::path module;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(folder, ec)) {
      const std::string name = entry.path().filename().string();
      if (name.starts_with("_core.") && name.ends_with(".so")) module = entry.path();
    }
    if (module.empty()) {
      error = fmt::format("Python types need pydsim's compiled module, and {} has none",
                          folder.string());
      return;
    }
    void* handle = dlopen(module.c_str(), RTLD_NOW | RTLD_GLOBAL);
    if (handle == nullptr) {
      error = fmt::format("cannot load {}: {}", module.string(), dlerror());
      return;
    }
    load = reinterpret_cast<LoadScript>(dlsym(handle, "dsim_python_load_script"));
    if (load == nullptr) error = fmt::format("{} has no dsim_python_load_script", module.string());
  });
  if (load == nullptr) throw Error(fmt::format("plugin '{}': {}", plugin, error));
  return load;
}
#endif

}  // namespace

void enable_python_plugins(Registry& registry) {
  registry.set_script_loader([](Registry& r, const std::string& path) {
#ifdef DSIM_LIBPYTHON
    start_python(path)(r, path);
#else
    static_cast<void>(r);
    throw Error(fmt::format("plugin '{}': this dsim was built without pydsim "
                            "(-DDSIM_BUILD_PYTHON=OFF), so it cannot load Python types",
                            path));
#endif
  });
}

}  // namespace dsim::cli
