#include "core/host_memory.h"

#include <new>
#include <string>

namespace trtn {

Status HostAllocator::allocate(size_t bytes, void** out) const {
  *out = ::operator new(bytes == 0 ? 1 : bytes, std::align_val_t(64), std::nothrow);
  if (*out == nullptr)
    return Status(Code::kOutOfMemory, "cannot allocate " + std::to_string(bytes) + " bytes of host memory");
  return Status::ok();
}

void HostAllocator::release(void* p) const { ::operator delete(p, std::align_val_t(64)); }

std::shared_ptr<const HostAllocator> HostAllocator::plain() {
  static const auto plain = std::make_shared<const HostAllocator>();
  return plain;
}

HostPool::~HostPool() {
  for (auto& [bytes, p] : free_) allocator_->release(p);
}

Status HostPool::acquire(size_t bytes, std::shared_ptr<HostBlock>* out) {
  void* data = nullptr;
  size_t size = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = free_.lower_bound(bytes);
    if (it != free_.end() && it->first <= bytes * 2 + 4096) {
      size = it->first;
      data = it->second;
      free_.erase(it);
    }
  }
  if (data == nullptr) {
    size = (bytes + 4095) / 4096 * 4096;  // page multiples: close sizes share blocks
    TRTN_TRY(allocator_->allocate(size, &data));
    std::lock_guard<std::mutex> lock(mu_);
    held_ += size;
  }
  // The block keeps the pool's state alive through a weak reference only: a pool gone first frees
  // the block itself (the allocator is shared).
  std::weak_ptr<HostPool> pool = weak_from_this();
  std::shared_ptr<const HostAllocator> allocator = allocator_;
  auto* block = new HostBlock{data, size, allocator_->pinned()};
  *out = std::shared_ptr<HostBlock>(block, [pool, allocator](HostBlock* b) {
    if (auto p = pool.lock()) {
      p->give_back(b);
    } else {
      allocator->release(b->data);
      delete b;
    }
  });
  return Status::ok();
}

void HostPool::give_back(HostBlock* block) {
  void* evict = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu_);
    free_.emplace(block->bytes, block->data);
    if (free_.size() > kKeep) {
      // Drop the smallest: large blocks are the expensive ones to pin again.
      auto smallest = free_.begin();
      held_ -= smallest->first;
      evict = smallest->second;
      free_.erase(smallest);
    }
  }
  if (evict != nullptr) allocator_->release(evict);
  delete block;
}

size_t HostPool::held_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return held_;
}

}  // namespace trtn
