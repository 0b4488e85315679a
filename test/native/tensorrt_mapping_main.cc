// Test harness of the tensorrt backend's pure mapping (native/backends/tensorrt/mapping.h), built
// with g++ by test/unit/tensorrt_mapping.test.ts on any machine (no TensorRT, no CUDA):
//   tensorrt_mapping <graph.json> <weights.f32>
// reads an execution graph as lib/builder/exec_graph.ts writes it and its raw weights (float32,
// the graph's blobs one after another), prepares the weights as every backend does, and prints
// the NetworkPlan as JSON. A failure prints {"error": {"code", "message"}} and exits 1.
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "backends/tensorrt/mapping.h"
#include "core/graph.h"
#include "core/json.h"
#include "core/weights.h"

namespace {

int fail(const trtn::Status& st) {
  std::printf("{\"error\":{\"code\":%s,\"message\":%s}}\n", trtn::json::quote(trtn::code_name(st.code())).c_str(),
              trtn::json::quote(st.message()).c_str());
  return 1;
}

bool read_file(const char* path, std::string* out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  out->assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  using trtn::Code;
  using trtn::Status;
  if (argc != 3) return fail(Status(Code::kInvalidArgument, "usage: tensorrt_mapping <graph.json> <weights.f32>"));
  std::string text, raw;
  if (!read_file(argv[1], &text) || !read_file(argv[2], &raw)) return fail(Status(Code::kIO, "cannot read the inputs"));
  trtn::Graph graph;
  Status st = trtn::parse_graph(text, &graph);
  if (!st.is_ok()) return fail(st);
  std::vector<const float*> blobs;
  size_t offset = 0;
  std::vector<float> all(raw.size() / sizeof(float));
  std::memcpy(all.data(), raw.data(), all.size() * sizeof(float));
  for (const trtn::WeightDesc& w : graph.weights) {
    if (offset + static_cast<size_t>(w.volume) > all.size()) return fail(Status(Code::kWeights, "weights file too short"));
    blobs.push_back(all.data() + offset);
    offset += static_cast<size_t>(w.volume);
  }
  if (offset != all.size()) return fail(Status(Code::kWeights, "weights file too long"));
  trtn::WeightStore store;
  if (!(st = trtn::prepare_weights(graph, blobs, &store)).is_ok()) return fail(st);
  trtn::tensorrt::NetworkPlan plan;
  if (!(st = trtn::tensorrt::map_network(graph, store, &plan)).is_ok()) return fail(st);
  std::printf("%s\n", trtn::tensorrt::plan_to_json(plan).c_str());
  return 0;
}
