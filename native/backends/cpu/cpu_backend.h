// The cpu backend: the reference every other backend is tested against.
#pragma once

#include "core/backend.h"

namespace trtn::cpu {

/// The backend table entry.
const Backend& backend();

}  // namespace trtn::cpu
