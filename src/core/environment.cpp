#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <thread>

#include "dsim/environment.hpp"

namespace dsim {

Machine Machine::detect(std::uint32_t processes) {
  processes = std::max(1u, processes);
  Machine m;
  m.cores = std::max(1u, std::thread::hardware_concurrency() / processes);
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page = sysconf(_SC_PAGESIZE);
  std::uint64_t total = pages > 0 && page > 0
                            ? static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page)
                            : std::uint64_t{8} << 30;
  // A container's limit (cgroup v2) when it is below the machine's memory.
  if (std::FILE* f = std::fopen("/sys/fs/cgroup/memory.max", "r")) {
    unsigned long long limit = 0;
    if (std::fscanf(f, "%llu", &limit) == 1 && limit > 0 && limit < total) total = limit;
    std::fclose(f);
  }
  m.memory_bytes = total / processes;
  return m;
}

}  // namespace dsim
