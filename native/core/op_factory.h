// The one body every op factory of every backend shares (cpu ops/, cuda kernels/): make the op's
// class, let it read and check its node, hand it out as the backend's op type; a host allocation
// that fails on the way is kOutOfMemory naming the backend and the node. Each op file keeps its own
// class and exports `make_<op>` as one call of make_op_as (or of guard_host_memory where the node's
// parameters choose among several classes).
#pragma once

#include <memory>
#include <new>
#include <string>
#include <utility>

#include "core/op_init.h"
#include "core/status.h"

namespace trtn {

/// kOutOfMemory: "<backend> backend, node '<name>' (<op>): out of host memory while making the op".
Status host_out_of_memory(const OpInit& node);

/// Runs `create` (returns Status), turning std::bad_alloc into host_out_of_memory(node).
template <class F>
Status guard_host_memory(const OpInit& node, F&& create) {
  try {
    return std::forward<F>(create)();
  } catch (const std::bad_alloc&) {
    return host_out_of_memory(node);
  }
}

/// Makes an OpT (default-constructed, then `Status OpT::init(const Init&)` reads and checks the
/// node) and hands it out as a Base; `node` is the OpInit inside `init` (errors name it).
template <class OpT, class Init, class Base>
Status make_op_as(const Init& init, const OpInit& node, std::unique_ptr<Base>* out) {
  return guard_host_memory(node, [&] {
    auto op = std::make_unique<OpT>();
    Status st = op->init(init);
    if (st.is_ok()) *out = std::move(op);
    return st;
  });
}

/// A backend's own check of a node before building (nullptr in a table: every node of the op runs).
using SupportsFn = bool (*)(const Graph& graph, const Node& node, std::string* why);

/// Backend::supports over an OpTable whose entries have `make` and `supports`: the op has a
/// factory, and its check (if any) passes.
template <class Entry>
bool table_supports(const OpTable<Entry>& table, const Graph& graph, const Node& node, std::string* why) {
  const Entry& e = table[node.kind];
  if (e.make == nullptr) {
    *why = std::string("it has no ") + op_name(node.kind) + " op";
    return false;
  }
  return e.supports == nullptr || e.supports(graph, node, why);
}

}  // namespace trtn
