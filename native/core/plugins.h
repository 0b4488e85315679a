// Layer plugins (include/tensorrt_node_plugin.h): the libraries loaded into this process and the
// layer types they implement, one registry for every backend, and the reader of a Plugin node.
// Libraries stay loaded until the process ends (engines keep their function pointers).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/op_init.h"
#include "core/status.h"
#include "include/tensorrt_node_plugin.h"

namespace trtn {

/// A layer type the host program implements itself (JavaScript, registered through the addon):
/// forward_cpu's contract, called on the backend's thread.
class HostedLayer {
 public:
  virtual ~HostedLayer() = default;
  virtual bool forward(const std::string& params, int batch, const std::vector<trtn_dims>& in_dims,
                       const std::vector<const float*>& in, const std::vector<trtn_dims>& out_dims,
                       const std::vector<float*>& out, std::string* error) = 0;
};

/// One layer type of a loaded library (or of the host program: `hosted`, library "javascript").
struct PluginLayer {
  std::string library;  // trtn_plugin::name
  uint32_t version = 0;
  std::string path;  // the file it was loaded from
  const trtn_plugin_layer* layer = nullptr;
  std::shared_ptr<HostedLayer> hosted;
};

/// Loads the library at `path` (dlopen, then trtn_plugin_v1()), checks its description and, with
/// `register_types`, registers its layer types (without: only describes them, so the caller can
/// check them first). Loading a library again is a no-op; a type another library already
/// registered is kPlugin naming both. `out`: the library's layer types.
Status load_plugin(const std::string& path, bool register_types, std::vector<PluginLayer>* out);

/// Registers (or replaces) a layer type the host program implements on the cpu backend (`hosted`
/// null: shapes only, it runs nowhere). A type a library provides is kPlugin.
Status register_hosted_layer(const std::string& type, int32_t min_inputs, int32_t max_inputs, int32_t outputs,
                             std::shared_ptr<HostedLayer> hosted);

/// The registered layer type `type`, or false.
bool find_plugin_layer(const std::string& type, PluginLayer* out);

/// Calls the layer's output_dims on full shapes (batch first); errors name the library and type.
Status plugin_output_dims(const PluginLayer& p, const std::string& params,
                          const std::vector<std::vector<int64_t>>& inputs, std::vector<std::vector<int64_t>>* out);

/// Elements of one image of a plugin tensor (the product of its dims).
int64_t dims_volume(const trtn_dims& d);

/// A checked Plugin node: its layer, parameters (JSON) and per-image shapes.
struct PluginParams {
  std::string node;  // the node's name, for errors
  PluginLayer plugin;
  std::string params;
  std::vector<trtn_dims> in_dims, out_dims;  // per image
  /// What a plugin function (or the JavaScript layer) said when it failed, as E_PLUGIN naming the node.
  Status failed(const char* function, const std::string& message) const;
};

/// Whether a Plugin node can run on the cpu (`cuda` false) or cuda backend: its library is loaded
/// and has that forward function; `why` says what is missing (the backends' supports checks).
bool plugin_runs_on(const Node& node, bool cuda, std::string* why);

/// Reads a Plugin node (pluginType, pluginLibrary, pluginVersion, params): the library must be
/// loaded, at the version the node was built with, with a forward for init.backend ("cuda": forward_cuda;
/// otherwise forward_cpu or a JavaScript function); float32 tensors only.
Status read_plugin_params(const OpInit& init, PluginParams* out);

}  // namespace trtn
