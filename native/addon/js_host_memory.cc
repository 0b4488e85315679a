#include "addon/js_host_memory.h"

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "addon/handles.h"

namespace trtn::js {
namespace {

/// Every block allocateHost handed out and JavaScript still holds, by start address.
struct Registry {
  std::mutex mu;
  std::map<uintptr_t, std::weak_ptr<HostBlock>> blocks;
};

Registry& registry() {
  static Registry* r = new Registry();  // leaked: finalizers may run during process exit
  return *r;
}

/// What the ArrayBuffer's finalizer lets go of.
struct Holder {
  std::shared_ptr<HostBlock> block;
};

void finalize_buffer(napi_env env, void* data, void* hint) {
  auto* holder = static_cast<Holder*>(hint);
  {
    std::lock_guard<std::mutex> lock(registry().mu);
    registry().blocks.erase(reinterpret_cast<uintptr_t>(data));
  }
  adjust_external(Napi::Env(env), -static_cast<int64_t>(holder->block->bytes));
  delete holder;  // the memory goes now, or when the last inference using it lets go
}

}  // namespace

std::shared_ptr<HostBlock> find_host_block(const void* data, size_t bytes) {
  const auto p = reinterpret_cast<uintptr_t>(data);
  std::lock_guard<std::mutex> lock(registry().mu);
  auto it = registry().blocks.upper_bound(p);
  if (it == registry().blocks.begin()) return nullptr;
  --it;
  std::shared_ptr<HostBlock> block = it->second.lock();
  if (!block || p + bytes > it->first + block->bytes) return nullptr;
  return block;
}

Napi::Value AllocateHostJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EngineHandle* h = handle_of<EngineHandle>(info[0]);
  if (h == nullptr || !info[1].IsNumber()) return throw_type(env, "allocateHost(engine, bytes)");
  if (!h->engine) return throw_status(env, Status(Code::kDisposed, "the engine was disposed"));
  const double want = info[1].As<Napi::Number>().DoubleValue();
  if (!(want >= 0 && want <= 9007199254740991.0)) return throw_type(env, "allocateHost: bytes must be a byte count");
  const size_t bytes = static_cast<size_t>(want);
  std::shared_ptr<const HostAllocator> allocator = h->engine->host_allocator();
  void* data = nullptr;
  Status st = allocator->allocate(bytes, &data);
  if (!st.is_ok()) return throw_status(env, st);
  auto* holder =
      new Holder{std::shared_ptr<HostBlock>(new HostBlock{data, bytes, allocator->pinned()}, [allocator](HostBlock* b) {
        allocator->release(b->data);
        delete b;
      })};
  napi_value buffer = nullptr;
  if (napi_create_external_arraybuffer(env, data, bytes, finalize_buffer, holder, &buffer) != napi_ok) {
    delete holder;
    return throw_status(
        env,
        Status(Code::kInternal, "this Node.js does not allow external ArrayBuffers: pass ordinary arrays to infer()"));
  }
  {
    std::lock_guard<std::mutex> lock(registry().mu);
    registry().blocks[reinterpret_cast<uintptr_t>(data)] = holder->block;
  }
  adjust_external(env, static_cast<int64_t>(bytes));
  return Napi::Value(env, buffer);
}

}  // namespace trtn::js
