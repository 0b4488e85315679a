// Backend::supports asked before a build: the first layer a backend cannot run, named with what to do.
#include <string>

#include "core/backend.h"

namespace trtn {

Status check_supported(const Backend& backend, const Graph& graph) {
  for (const Node& node : graph.nodes) {
    std::string why;
    if (backend.supports(graph, node, &why)) continue;
    return Status(Code::kUnsupportedLayer, "layer '" + node.name + "' (" + node.op + ") cannot run on the " +
                                               backend.name + " backend: " + (why.empty() ? "it has no such op" : why) +
                                               "; build with backend 'cpu' (it runs every op) or replace the layer");
  }
  return Status::ok();
}

}  // namespace trtn
