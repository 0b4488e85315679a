// Host memory for engine inputs and outputs. Each engine says what kind its device copies from and
// to fastest (GPU backends: pinned, page-locked memory; the cpu backend: plain aligned memory).
// The addon copies a caller's inputs into such memory when infer() is called, so later changes to
// the caller's arrays cannot reach a queued inference, and the GPU copies straight from it.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>

#include "core/status.h"

namespace trtn {

/// Allocates and frees one kind of host memory. Stateless apart from what it is constructed with,
/// and shared: blocks may outlive the engine that handed out the allocator.
class HostAllocator {
 public:
  virtual ~HostAllocator() = default;
  /// `bytes` of memory, 64-byte aligned; kOutOfMemory naming the bytes when there are none.
  virtual Status allocate(size_t bytes, void** out) const;
  virtual void release(void* p) const;
  /// True when the device copies straight from and to this memory (RunOptions::host_pinned).
  virtual bool pinned() const { return false; }

  /// Plain 64-byte-aligned memory.
  static std::shared_ptr<const HostAllocator> plain();
};

/// A block of host memory from a HostPool; it goes back to the pool when the last holder lets go.
struct HostBlock {
  void* data = nullptr;
  size_t bytes = 0;
  bool pinned = false;
};

/// Reuses host blocks across calls (pinned allocations are slow): acquire() hands out the smallest
/// free block that is large enough, or a new one. Keeps at most kKeep free blocks. Thread-safe.
class HostPool : public std::enable_shared_from_this<HostPool> {
 public:
  static constexpr size_t kKeep = 8;
  explicit HostPool(std::shared_ptr<const HostAllocator> allocator) : allocator_(std::move(allocator)) {}
  ~HostPool();
  HostPool(const HostPool&) = delete;
  HostPool& operator=(const HostPool&) = delete;

  /// A block of at least `bytes` (0 gives an empty block).
  Status acquire(size_t bytes, std::shared_ptr<HostBlock>* out);
  /// Bytes held, in use or free (for reporting to V8).
  size_t held_bytes() const;

 private:
  void give_back(HostBlock* block);

  std::shared_ptr<const HostAllocator> allocator_;
  mutable std::mutex mu_;
  std::multimap<size_t, void*> free_;
  size_t held_ = 0;
};

}  // namespace trtn
