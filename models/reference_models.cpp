#include "dsim/reference_models.hpp"

#include "models/epidemic/epidemic.hpp"
#include "models/phold/phold.hpp"

namespace dsim {

void register_reference_models(Registry& registry) {
  models::register_phold(registry);
  models::register_epidemic(registry);
}

}  // namespace dsim
