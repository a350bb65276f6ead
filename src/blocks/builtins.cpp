#include "blocks/blocks.hpp"
#include "dsim/registry.hpp"

namespace dsim {

void register_builtins(Registry& registry) { blocks::register_blocks(registry); }

}  // namespace dsim
