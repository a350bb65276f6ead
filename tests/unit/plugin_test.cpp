// A plugin loaded by this test executable. The executable holds dsim itself:
// it links the library's objects, not libdsim.so (tests/CMakeLists.txt). The
// plugin (tests/plugins/faulty.cpp) names libdsim.so, so loading it brings a
// second copy of the library into the process; these tests check that the
// plugin's calls into dsim still bind to the executable's copy (it exports
// the public API) and that the plugin's type runs, its error included.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "dsim/dsim.hpp"

namespace {

dsim::ModelSpec faulty_spec(std::int64_t fail_entity) {
  dsim::ModelSpec spec;
  spec.simulation.end_time = 50;
  spec.simulation.seed = 3;
  spec.simulation.sync = "sequential";
  spec.groups.push_back(
      {"hoppers",
       "faulty",
       20,
       {{"fail_entity", dsim::ParamValue(fail_entity)}, {"fail_at", dsim::ParamValue(10.0)}},
       {},
       {}});
  dsim::LinkSpec link;
  link.from = link.to = "hoppers";
  link.topology.kind = "ring";
  link.topology.k = 2;
  link.lookahead = 1.0;
  spec.links.push_back(link);
  return spec;
}

// The base address of the executable or shared library that holds `address`.
const void* object_of(const void* address) {
  Dl_info info{};
  return dladdr(address, &info) != 0 ? info.dli_fbase : nullptr;
}

TEST(Plugin, BindsToTheDsimOfTheExecutableThatLoadsIt) {
  dsim::Registry registry;
  registry.load_plugin(DSIM_TEST_PLUGIN);
  ASSERT_NE(registry.find("faulty"), nullptr);
  // The plugin's references to dsim resolve in the global scope first, where
  // this executable comes first: Registry::add_type (which its DSIM_PLUGIN
  // entry point called) must be found here, not in the libdsim.so it named.
  const void* add_type = dlsym(RTLD_DEFAULT, "_ZN4dsim8Registry8add_typeENS_14EntityTypeInfoE");
  ASSERT_NE(add_type, nullptr) << "the test executable does not export dsim's API";
  EXPECT_EQ(object_of(add_type), object_of(reinterpret_cast<const void*>(&faulty_spec)));
}

TEST(Plugin, ItsTypeRunsAndItsErrorIsADsimError) {
  dsim::Registry registry;
  dsim::register_builtins(registry);
  registry.load_plugin(DSIM_TEST_PLUGIN);
  {
    dsim::Simulation sim(faulty_spec(-1), registry);
    const dsim::RunResult result = sim.run();
    EXPECT_GT(result.value("hoppers", "hops", "total"), 20 * 20);
  }
  try {
    dsim::Simulation sim(faulty_spec(7), registry);
    sim.run();
    ADD_FAILURE() << "the run did not fail";
  } catch (const dsim::Error& e) {
    EXPECT_NE(std::string(e.what()).find("asked to fail (fail_entity = 7)"), std::string::npos)
        << e.what();
  }
}

}  // namespace
