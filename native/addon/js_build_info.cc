#include "addon/js_build_info.h"

#include <string>
#include <vector>

#include "core/backend.h"
#include "core/build_info.h"
#include "core/device_query.h"
#include "core/nvml.h"

namespace trtn::js {
namespace {

Napi::Array to_array(Napi::Env env, const std::vector<std::string>& items) {
  Napi::Array out = Napi::Array::New(env, items.size());
  for (size_t i = 0; i < items.size(); ++i) out.Set(static_cast<uint32_t>(i), items[i]);
  return out;
}

}  // namespace

Napi::Value BuildInfoJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  BuildInfo b = build_info();
  Napi::Object out = Napi::Object::New(env);
  out.Set("version", b.package_version);
  out.Set("backends", to_array(env, b.backends));
  out.Set("cuda", b.cuda);
  out.Set("cudaVersion", b.cuda_version);
  out.Set("cudaArchs", to_array(env, b.cuda_archs));
  out.Set("compiler", b.compiler);
  out.Set("buildSystem", b.build_system);
  out.Set("napiVersion", b.napi_version);
  out.Set("note", b.note);
  out.Set("ops", to_array(env, b.ops));
  // Per backend compiled in: the ops it has (a backend may lack some of `ops`).
  Napi::Object backend_ops = Napi::Object::New(env);
  for (const std::string& name : backend_names()) backend_ops.Set(name, to_array(env, find_backend(name)->ops()));
  out.Set("backendOps", backend_ops);
  return out;
}

Napi::Value DevicesJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  // The TS layer validates arguments; here a missing flag simply means "do not run code".
  bool check_images = info.Length() > 0 && info[0].IsBoolean() && info[0].As<Napi::Boolean>().Value();
  DeviceList list = query_devices(check_images);
  Napi::Array devices = Napi::Array::New(env, list.devices.size());
  for (size_t i = 0; i < list.devices.size(); ++i) {
    const DeviceInfo& d = list.devices[i];
    Napi::Object o = Napi::Object::New(env);
    o.Set("index", d.index);
    o.Set("name", d.name);
    o.Set("computeCapability", std::to_string(d.major) + "." + std::to_string(d.minor));
    o.Set("major", d.major);
    o.Set("minor", d.minor);
    o.Set("totalMemory", static_cast<double>(d.total_memory));
    o.Set("multiprocessors", d.multiprocessors);
    o.Set("clockKHz", d.clock_khz);
    o.Set("pciBusId", d.pci_bus_id);
    o.Set("uuid", d.uuid);
    o.Set("supported", d.supported);
    o.Set("unsupportedReason", d.unsupported_reason);
    devices.Set(static_cast<uint32_t>(i), o);
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("devices", devices);
  out.Set("reason", list.reason);
  out.Set("driverVersion", list.driver_version);
  return out;
}

Napi::Value GpuStatsJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<GpuStat> stats;
  Status st = read_gpu_stats(&stats);
  Napi::Array gpus = Napi::Array::New(env, stats.size());
  for (size_t i = 0; i < stats.size(); ++i) {
    const GpuStat& g = stats[i];
    Napi::Object o = Napi::Object::New(env);
    o.Set("uuid", g.uuid);
    o.Set("name", g.name);
    o.Set("memoryTotal", static_cast<double>(g.memory_total));
    o.Set("memoryUsed", static_cast<double>(g.memory_used));
    o.Set("utilization", g.utilization);
    o.Set("powerW", g.power_w);
    o.Set("powerLimitW", g.power_limit_w);
    gpus.Set(static_cast<uint32_t>(i), o);
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("gpus", gpus);
  out.Set("reason", st.is_ok() ? std::string() : st.message());
  return out;
}

}  // namespace trtn::js
