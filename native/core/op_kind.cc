// OpKind names: the TRTN_OPS list as strings, both ways.
#include "core/op_kind.h"

namespace trtn {
namespace {

constexpr const char* kNames[] = {
#define TRTN_OP_NAME(name) #name,
    TRTN_OPS(TRTN_OP_NAME)
#undef TRTN_OP_NAME
};
static_assert(sizeof(kNames) / sizeof(kNames[0]) == kOpKindCount, "one name per OpKind");

}  // namespace

const char* op_name(OpKind kind) { return kNames[static_cast<size_t>(kind)]; }

bool op_kind_of(const std::string& name, OpKind* out) {
  for (size_t i = 0; i < kOpKindCount; ++i) {
    if (name == kNames[i]) {
      *out = static_cast<OpKind>(i);
      return true;
    }
  }
  return false;
}

std::vector<std::string> op_names() { return std::vector<std::string>(std::begin(kNames), std::end(kNames)); }

}  // namespace trtn
