// Test harness of the cuda backend's batch limit (native/backends/cuda/index_range.h), built with
// g++ by test/unit/cuda_index_range.test.ts on any machine (no CUDA):
//   index_range <graph.json> [batch ...]
// reads an execution graph as lib/builder/exec_graph.ts writes it and prints, as JSON, the largest
// batch the engine runs, the layer and bound that set it, and check_index_range's answer for each
// batch given. A graph that does not parse prints {"error": {"code", "message"}} and exits 1.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

#include "backends/cuda/index_range.h"
#include "core/graph.h"
#include "core/json.h"

namespace {

int fail(const trtn::Status& st) {
  std::printf("{\"error\":{\"code\":%s,\"message\":%s}}\n", trtn::json::quote(trtn::code_name(st.code())).c_str(),
              trtn::json::quote(st.message()).c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  using trtn::Code;
  using trtn::Status;
  if (argc < 2) return fail(Status(Code::kInvalidArgument, "usage: index_range <graph.json> [batch ...]"));
  std::ifstream f(argv[1], std::ios::binary);
  if (!f) return fail(Status(Code::kIO, "cannot read the graph"));
  const std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  trtn::Graph graph;
  Status st = trtn::parse_graph(text, &graph);
  if (!st.is_ok()) return fail(st);
  const trtn::cuda::IndexRange r = trtn::cuda::index_range(graph);
  std::string out = "{\"maxBatch\":" + std::to_string(r.max_batch) + ",\"node\":" + trtn::json::quote(r.node) +
                    ",\"items\":" + trtn::json::quote(r.items) + ",\"perImage\":" + std::to_string(r.per_image) +
                    ",\"bound\":" + std::to_string(r.bound) + ",\"build\":";
  st = trtn::cuda::check_index_range(r, graph.max_batch, "maxBatchSize");
  out += st.is_ok() ? std::string("null") : trtn::json::quote(st.message());
  out += ",\"checks\":[";
  for (int i = 2; i < argc; ++i) {
    const long long batch = std::atoll(argv[i]);
    st = trtn::cuda::check_index_range(r, batch);
    out += std::string(i > 2 ? "," : "") + "{\"batch\":" + std::to_string(batch) + ",\"code\":" +
           trtn::json::quote(trtn::code_name(st.code())) + ",\"message\":" + trtn::json::quote(st.message()) + "}";
  }
  std::printf("%s]}\n", out.c_str());
  return 0;
}
