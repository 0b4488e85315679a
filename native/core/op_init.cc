#include "core/op_init.h"

#include "core/op_factory.h"

namespace trtn {

std::vector<int64_t> OpInit::input_shape(size_t i, int64_t batch) const {
  std::vector<int64_t> s{batch};
  const auto& d = input(i).dims;
  s.insert(s.end(), d.begin(), d.end());
  return s;
}

std::vector<int64_t> OpInit::output_shape(size_t i, int64_t batch) const {
  std::vector<int64_t> s{batch};
  const auto& d = output(i).dims;
  s.insert(s.end(), d.begin(), d.end());
  return s;
}

Status OpInit::error(const std::string& what) const {
  return Status(Code::kInvalidArgument,
                std::string(backend) + " backend, node '" + node.name + "' (" + node.op + "): " + what);
}

Status host_out_of_memory(const OpInit& node) {
  return Status(Code::kOutOfMemory, std::string(node.backend) + " backend, node '" + node.node.name + "' (" +
                                        node.node.op + "): out of host memory while making the op");
}

Status OpInit::attr_int(const std::string& key, int64_t* out) const {
  return json::get_int(node.attrs, key, "node '" + node.name + "' attrs", out);
}
Status OpInit::attr_double(const std::string& key, double* out) const {
  return json::get_double(node.attrs, key, "node '" + node.name + "' attrs", out);
}
Status OpInit::attr_bool(const std::string& key, bool* out) const {
  return json::get_bool(node.attrs, key, "node '" + node.name + "' attrs", out);
}
Status OpInit::attr_string(const std::string& key, std::string* out) const {
  return json::get_string(node.attrs, key, "node '" + node.name + "' attrs", out);
}
Status OpInit::attr_ints(const std::string& key, std::vector<int64_t>* out) const {
  return json::get_ints(node.attrs, key, "node '" + node.name + "' attrs", out);
}
Status OpInit::attr_doubles(const std::string& key, std::vector<double>* out) const {
  return json::get_doubles(node.attrs, key, "node '" + node.name + "' attrs", out);
}

Status OpInit::expect_io(size_t inputs, size_t outputs) const {
  if (node.inputs.size() != inputs || node.outputs.size() != outputs) {
    return error("expects " + std::to_string(inputs) + " input(s) and " + std::to_string(outputs) + " output(s)");
  }
  return Status::ok();
}

Status OpInit::expect_float(size_t inputs, size_t outputs) const {
  if (node.inputs.size() != inputs || (outputs == 0 ? node.outputs.empty() : node.outputs.size() != outputs)) {
    return error("expects " + std::to_string(inputs) + " input(s) and " +
                 (outputs == 0 ? std::string("1 or more") : std::to_string(outputs)) + " output(s)");
  }
  if (node.precision == Precision::kINT8) return error("has no INT8 form");
  if (node.activation.relu) return error("takes no fused activation");
  for (int t : node.inputs) {
    if (graph.tensors[t].dtype != DType::kFloat32) return error("reads and writes float32 tensors");
  }
  for (int t : node.outputs) {
    if (graph.tensors[t].dtype != DType::kFloat32) return error("reads and writes float32 tensors");
  }
  return Status::ok();
}

std::string dims_text(const std::vector<int64_t>& d) {
  std::string s = "[";
  for (size_t i = 0; i < d.size(); ++i) s += (i ? ", " : "") + std::to_string(d[i]);
  return s + "]";
}

}  // namespace trtn
