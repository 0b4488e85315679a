// The GPU run loop shared by the cuda and tensorrt contexts (trtexec's Iteration idea): every
// inference gets a staging slot (device buffers for its inputs and outputs in their host form,
// and six events), its copies in run on an input stream, its compute on the compute stream, its
// copies out on an output stream. So the copies of inference N+1 overlap the compute of N, and
// throughput with copies approaches max(copy, compute) instead of their sum. A lone call (nothing
// to overlap with) whose host memory is pinned skips the staging: the compute reads its inputs
// from, and writes its outputs to, the host memory itself (one launch, batch-1 latency), where the
// backend can (DeviceCompute::addresses_host_memory). A failed wait leaves
// the context unusable (the stream's state is unknown): later calls say why.
#pragma once

#include <cuda_runtime.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "core/backend.h"
#include "gpu/cuda_check.h"

namespace trtn::gpu {

/// What a backend computes between the copies.
class DeviceCompute {
 public:
  virtual ~DeviceCompute() = default;
  /// Enqueues `inf`'s compute on `stream`: reads its inputs from `in` (device memory, one pointer
  /// per graph input, `inf.batch` images in the tensor's host form, batch-major) and writes its
  /// outputs to `out` likewise. `slot` names the buffer pair (a backend may cache per slot, as the
  /// cuda backend caches a CUDA graph per batch size and slot).
  virtual Status enqueue(Inference& inf, int slot, const std::vector<const void*>& in, const std::vector<void*>& out,
                         cudaStream_t stream) = 0;
  /// True when enqueue may be given `inf`'s pinned host memory (mapped into the device's address
  /// space) as `in` and `out`: the compute then does the copies itself.
  virtual bool in_place_ok(const Inference& /*inf*/) const { return false; }
  /// After `inf` completed: read what the compute measured (the cuda backend's per-layer profile).
  virtual Status completed(Inference& /*inf*/) { return Status::ok(); }
};

class RunLoop {
 public:
  /// For a graph whose inputs and outputs take these many bytes per image in their host form.
  RunLoop(int device, std::vector<size_t> input_image_bytes, std::vector<size_t> output_image_bytes);
  ~RunLoop();
  RunLoop(const RunLoop&) = delete;
  RunLoop& operator=(const RunLoop&) = delete;

  /// Creates the streams.
  Status init();
  /// Copies in (with transfers), enqueues the compute and the copies out of `inf` in the next slot
  /// (Context::submit's rules); returns once everything is enqueued.
  Status submit(Inference* inf, DeviceCompute& compute);
  /// Waits for the oldest inference in flight (`inf`), then fills its GPU times.
  Status wait(Inference* inf, DeviceCompute& compute);
  /// True when the oldest inference in flight finished (or failed), or none is in flight.
  bool ready() const;
  /// Inferences submitted and not waited for.
  int in_flight() const { return in_flight_; }
  cudaStream_t compute_stream() const { return compute_; }
  /// kCuda naming the earlier failure once a wait has failed; ok otherwise.
  Status usable() const;

 private:
  /// One inference's device buffers and events: before / after the copies in (input stream),
  /// before / after the compute (compute stream), before / after the copies out (output stream).
  struct Slot {
    DeviceBuffer in, out;
    int capacity = 0;  // images the buffers hold
    cudaEvent_t ev[6] = {nullptr, nullptr, nullptr, nullptr, nullptr, nullptr};
    bool in_place = false;  // the inference in it reads and writes host memory directly (events 2, 3 only)
    /// The event after the inference's last work.
    cudaEvent_t done() const { return ev[in_place ? 3 : 5]; }
  };
  static Status make_events(Slot& s);
  Status reserve(Slot& s, int batch);
  Status enqueue(Inference* inf, Slot& s, int slot, DeviceCompute& compute);
  Status enqueue_in_place(Inference* inf, Slot& s, int slot, DeviceCompute& compute);
  Status fail(const Status& st);

  int device_;
  std::vector<size_t> in_bytes_, out_bytes_;
  cudaStream_t in_stream_ = nullptr, compute_ = nullptr, out_stream_ = nullptr;
  std::vector<Slot> slots_;  // made as inferences are kept in flight, up to kMaxQueueDepth (never moved)
  std::deque<int> free_;     // slots not in flight
  std::deque<int> flight_;   // slots in flight, oldest first
  int in_flight_ = 0;
  bool broken_ = false;
  std::string broken_reason_;
};

}  // namespace trtn::gpu
