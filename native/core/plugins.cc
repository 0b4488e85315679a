#include "core/plugins.h"

#include <dlfcn.h>

#include <cstring>
#include <map>
#include <mutex>

#include "core/json.h"

namespace trtn {
namespace {

std::mutex& registry_mutex() {
  static std::mutex m;
  return m;
}

std::map<std::string, PluginLayer>& registry() {
  static std::map<std::string, PluginLayer> r;
  return r;
}

bool to_dims(const std::vector<int64_t>& v, trtn_dims* out) {
  if (v.size() > TRTN_PLUGIN_MAX_DIMS) return false;
  *out = trtn_dims{};
  out->rank = static_cast<int32_t>(v.size());
  for (size_t i = 0; i < v.size(); ++i) out->d[i] = v[i];
  return true;
}

/// The library's layer descriptions in this header's layout, copied (a version 1 library's shorter
/// ones padded with zeros). They live as long as the process: engines keep pointers to them.
const trtn_plugin_layer* own_layers(const trtn_plugin* lib) {
  static_assert(TRTN_PLUGIN_LAYER_V1_SIZE % alignof(trtn_plugin_layer) == 0, "v1 layers pack without padding");
  const size_t stride = lib->abi_version == 1 ? TRTN_PLUGIN_LAYER_V1_SIZE : sizeof(trtn_plugin_layer);
  auto* copies = new trtn_plugin_layer[static_cast<size_t>(lib->layer_count)]();
  for (int32_t i = 0; i < lib->layer_count; ++i) {
    std::memcpy(&copies[i], reinterpret_cast<const char*>(lib->layers) + stride * static_cast<size_t>(i), stride);
  }
  return copies;
}

/// One layer description, checked; "" or why it cannot be used.
std::string check_layer(const trtn_plugin_layer& l, int32_t i) {
  if (l.type == nullptr || l.type[0] == '\0') return "layer " + std::to_string(i) + " has no type name";
  const std::string who = "layer type '" + std::string(l.type) + "'";
  if (l.output_dims == nullptr) return who + " has no output_dims function";
  if (l.min_inputs < 0 || l.max_inputs < l.min_inputs || l.outputs < 1) {
    return who + " declares impossible input / output counts";
  }
  if ((l.param_field == nullptr) != (l.param_fields == nullptr)) {
    return who + " gives param_field without param_fields or the other way round";
  }
  if ((l.cuda_types & ~uint32_t{TRTN_PLUGIN_FLOAT32 | TRTN_PLUGIN_FLOAT16}) != 0) {
    return who + " lists unknown element types in cuda_types (" + std::to_string(l.cuda_types) +
           "; TRTN_PLUGIN_FLOAT32 and TRTN_PLUGIN_FLOAT16 exist)";
  }
  if ((l.cuda_types != 0) != (l.forward_cuda_ex != nullptr)) {
    return who + (l.cuda_types != 0 ? " lists cuda_types but has no forward_cuda_ex"
                                    : " has forward_cuda_ex but lists no cuda_types");
  }
  if (l.workspace_size != nullptr && l.forward_cuda_ex == nullptr) {
    return who + " has workspace_size but no forward_cuda_ex to give the workspace to";
  }
  return "";
}

/// The library's description, checked; "" or why it cannot be used.
std::string check_library(const trtn_plugin* lib) {
  if (lib == nullptr) return std::string(TRTN_PLUGIN_ENTRY) + "() returned NULL";
  if (lib->abi_version != 1 && lib->abi_version != TRTN_PLUGIN_ABI_VERSION) {
    return "it was built for plugin ABI version " + std::to_string(lib->abi_version) +
           "; this tensorrt-node loads 1 to " + std::to_string(TRTN_PLUGIN_ABI_VERSION) +
           " (rebuild it against include/tensorrt_node_plugin.h)";
  }
  if (lib->name == nullptr || lib->name[0] == '\0') return "its description has no name";
  if (lib->layer_count < 1 || lib->layers == nullptr) return "it describes no layer types";
  return "";
}

}  // namespace

Status load_plugin(const std::string& path, bool register_types, std::vector<PluginLayer>* out) {
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    return Status(Code::kPlugin,
                  "cannot load plugin library " + path + ": " + (why != nullptr ? why : "dlopen failed"));
  }
  auto entry = reinterpret_cast<trtn_plugin_v1_fn>(dlsym(handle, TRTN_PLUGIN_ENTRY));
  if (entry == nullptr) {
    return Status(Code::kPlugin, "plugin library " + path + " exports no " + TRTN_PLUGIN_ENTRY +
                                     "() (see include/tensorrt_node_plugin.h)");
  }
  const trtn_plugin* lib = entry();
  std::string problem = check_library(lib);
  if (!problem.empty()) return Status(Code::kPlugin, "plugin library " + path + ": " + problem);
  std::lock_guard<std::mutex> lock(registry_mutex());
  // One copy of the descriptions per library file (loading it again finds the same).
  static std::map<std::string, const trtn_plugin_layer*> copies;
  const trtn_plugin_layer*& layers = copies[path];
  if (layers == nullptr) layers = own_layers(lib);
  for (int32_t i = 0; i < lib->layer_count; ++i) {
    if (!(problem = check_layer(layers[i], i)).empty()) {
      return Status(Code::kPlugin, "plugin library " + path + ": " + problem);
    }
    auto it = registry().find(layers[i].type);
    const bool same_library =
        it != registry().end() && it->second.library == lib->name && it->second.version == lib->version;
    if (it != registry().end() && !same_library) {
      return Status(Code::kPlugin, "plugin library " + path + " (" + lib->name + ") implements layer type '" +
                                       layers[i].type + "', which " + it->second.library + " (" + it->second.path +
                                       ") already provides");
    }
  }
  out->clear();
  for (int32_t i = 0; i < lib->layer_count; ++i) {
    PluginLayer p{lib->name, lib->version, path, &layers[i], nullptr};
    if (!register_types) {
      out->push_back(p);
      continue;
    }
    registry().emplace(layers[i].type, p);  // a second load keeps the first entry
    out->push_back(registry().at(layers[i].type));
  }
  return Status::ok();
}

Status register_hosted_layer(const std::string& type, int32_t min_inputs, int32_t max_inputs, int32_t outputs,
                             std::shared_ptr<HostedLayer> hosted) {
  std::lock_guard<std::mutex> lock(registry_mutex());
  auto it = registry().find(type);
  if (it != registry().end() && it->second.library != "javascript") {
    return Status(Code::kPlugin, "layer type '" + type + "' is provided by plugin library " + it->second.library +
                                     " (" + it->second.path + ")");
  }
  // The description lives as long as the process: engines built with it keep pointers to it.
  struct Described {
    std::string type;
    trtn_plugin_layer desc{};
  };
  auto* d = new Described{type, {}};
  d->desc.type = d->type.c_str();
  d->desc.min_inputs = min_inputs;
  d->desc.max_inputs = max_inputs;
  d->desc.outputs = outputs;
  registry()[type] = PluginLayer{"javascript", 0, "", &d->desc, std::move(hosted)};
  return Status::ok();
}

bool find_plugin_layer(const std::string& type, PluginLayer* out) {
  std::lock_guard<std::mutex> lock(registry_mutex());
  auto it = registry().find(type);
  if (it == registry().end()) return false;
  *out = it->second;
  return true;
}

Status plugin_output_dims(const PluginLayer& p, const std::string& params,
                          const std::vector<std::vector<int64_t>>& inputs, std::vector<std::vector<int64_t>>* out) {
  const std::string who = "plugin layer type '" + std::string(p.layer->type) + "' (" + p.library + ")";
  std::vector<trtn_dims> in(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!to_dims(inputs[i], &in[i])) {
      return Status(Code::kShape, who + ": input " + std::to_string(i) + " has more than " +
                                      std::to_string(TRTN_PLUGIN_MAX_DIMS) + " dims");
    }
  }
  std::vector<trtn_dims> dims(static_cast<size_t>(p.layer->outputs));
  char error[512] = {0};
  const int32_t rc = p.layer->output_dims(params.c_str(), static_cast<int32_t>(in.size()), in.data(), p.layer->outputs,
                                          dims.data(), error, sizeof error);
  error[sizeof error - 1] = '\0';
  if (rc != 0) return Status(Code::kShape, who + ": " + (error[0] != '\0' ? error : "output_dims failed"));
  out->clear();
  for (const trtn_dims& d : dims) {
    if (d.rank < 0 || d.rank > TRTN_PLUGIN_MAX_DIMS) {
      return Status(Code::kShape, who + ": output_dims gave a rank of " + std::to_string(d.rank));
    }
    out->emplace_back(d.d, d.d + d.rank);
  }
  return Status::ok();
}

int64_t dims_volume(const trtn_dims& d) {
  int64_t v = 1;
  for (int32_t i = 0; i < d.rank; ++i) v *= d.d[i];
  return v;
}

Status PluginParams::failed(const char* function, const std::string& message) const {
  return Status(Code::kPlugin, "node '" + node + "' (" + (plugin.hosted ? "JavaScript layer '" : "plugin layer '") +
                                   plugin.layer->type + "' of " + plugin.library + "): " + function + " failed" +
                                   (message.empty() ? std::string() : ": " + message));
}

namespace {

/// Why the layer cannot run on the cpu (`cuda` false) or cuda backend, or "" when it can.
std::string missing_forward(const PluginLayer& p, bool cuda) {
  const bool has = cuda ? p.layer->forward_cuda != nullptr || p.layer->forward_cuda_ex != nullptr
                        : (p.layer->forward_cpu != nullptr || p.hosted != nullptr);
  if (has) return "";
  if (p.library == "javascript") {
    return "JavaScript layer type '" + std::string(p.layer->type) +
           "' runs on the cpu backend only, and only when registerLayer gave it a cpu function";
  }
  return "plugin library " + p.library + " has no " + (cuda ? "forward_cuda or forward_cuda_ex" : "forward_cpu") +
         " for '" + p.layer->type + "': build it on a backend the library implements";
}

}  // namespace

bool plugin_runs_on(const Node& node, bool cuda, std::string* why) {
  std::string type;
  if (!json::get_string(node.attrs, "pluginType", "", &type).is_ok()) {
    *why = "its pluginType attribute is missing";
    return false;
  }
  PluginLayer p;
  if (!find_plugin_layer(type, &p)) {
    *why = "plugin layer type '" + type + "' is not loaded (loadPlugin('<library>') first)";
    return false;
  }
  *why = missing_forward(p, cuda);
  return why->empty();
}

Status read_plugin_params(const OpInit& init, PluginParams* out) {
  std::string type, library;
  int64_t version = 0;
  TRTN_TRY(init.attr_string("pluginType", &type));
  TRTN_TRY(init.attr_string("pluginLibrary", &library));
  TRTN_TRY(init.attr_int("pluginVersion", &version));
  PluginParams p;
  p.node = init.node.name;
  TRTN_TRY(init.attr_string("params", &p.params));
  if (!find_plugin_layer(type, &p.plugin)) {
    return Status(Code::kPlugin, "node '" + init.node.name + "' is a layer of type '" + type +
                                     "' from plugin library " + library + " (version " + std::to_string(version) +
                                     "), which is not loaded: loadPlugin('<path to the library>') first");
  }
  if (p.plugin.library != library || p.plugin.version != version) {
    return Status(Code::kPlugin, "node '" + init.node.name + "' was built with plugin library " + library +
                                     " version " + std::to_string(version) + " for type '" + type + "', but " +
                                     p.plugin.library + " version " + std::to_string(p.plugin.version) + " (" +
                                     p.plugin.path + ") is loaded: load the library it was built with");
  }
  const std::string missing = missing_forward(p.plugin, std::string(init.backend) == "cuda");
  if (!missing.empty()) return Status(Code::kUnsupportedLayer, "node '" + init.node.name + "': " + missing);

  if (init.node.inputs.size() < static_cast<size_t>(p.plugin.layer->min_inputs) ||
      init.node.inputs.size() > static_cast<size_t>(p.plugin.layer->max_inputs) ||
      init.node.outputs.size() != static_cast<size_t>(p.plugin.layer->outputs)) {
    return init.error("has the wrong number of inputs or outputs for plugin layer type '" + type + "'");
  }
  TRTN_TRY(init.expect_float(init.node.inputs.size(), init.node.outputs.size()));
  for (int t : init.node.inputs) {
    trtn_dims d;
    if (!to_dims(init.graph.tensors[t].dims, &d)) return init.error("has an input of too many dims for a plugin");
    p.in_dims.push_back(d);
  }
  for (int t : init.node.outputs) {
    trtn_dims d;
    if (!to_dims(init.graph.tensors[t].dims, &d)) return init.error("has an output of too many dims for a plugin");
    p.out_dims.push_back(d);
  }
  *out = std::move(p);
  return Status::ok();
}

}  // namespace trtn
