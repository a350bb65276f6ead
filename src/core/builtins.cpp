#include "blocks/blocks.hpp"
#include "dsim/registry.hpp"
#include "models/epidemic/epidemic.hpp"
#include "models/phold/phold.hpp"

namespace dsim {

void register_builtins(Registry& registry) {
  blocks::register_blocks(registry);
  models::register_phold(registry);
  models::register_epidemic(registry);
}

}  // namespace dsim
