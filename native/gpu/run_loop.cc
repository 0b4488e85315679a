#include "gpu/run_loop.h"

#include <utility>

namespace trtn::gpu {
namespace {

double since_ms(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

RunLoop::RunLoop(int device, std::vector<size_t> input_image_bytes, std::vector<size_t> output_image_bytes)
    : device_(device), in_bytes_(std::move(input_image_bytes)), out_bytes_(std::move(output_image_bytes)) {
  slots_.reserve(kMaxQueueDepth);
}

RunLoop::~RunLoop() {
  cudaSetDevice(device_);
  for (cudaStream_t s : {in_stream_, compute_, out_stream_}) {
    if (s != nullptr) cudaStreamSynchronize(s);
  }
  for (Slot& slot : slots_) {
    for (cudaEvent_t ev : slot.ev) {
      if (ev != nullptr) cudaEventDestroy(ev);
    }
  }
  slots_.clear();  // the buffers go while the device is current
  for (cudaStream_t s : {in_stream_, compute_, out_stream_}) {
    if (s != nullptr) cudaStreamDestroy(s);
  }
  cudaGetLastError();
}

Status RunLoop::init() {
  TRTN_CUDA_TRY(cudaSetDevice(device_));
  TRTN_CUDA_TRY(cudaStreamCreateWithFlags(&in_stream_, cudaStreamNonBlocking));
  TRTN_CUDA_TRY(cudaStreamCreateWithFlags(&compute_, cudaStreamNonBlocking));
  TRTN_CUDA_TRY(cudaStreamCreateWithFlags(&out_stream_, cudaStreamNonBlocking));
  return Status::ok();
}

Status RunLoop::usable() const {
  if (!broken_) return Status::ok();
  return Status(Code::kCuda, "this execution context is unusable after an earlier CUDA failure: " + broken_reason_);
}

Status RunLoop::fail(const Status& st) {
  broken_ = true;
  broken_reason_ = st.message();
  return st;
}

Status RunLoop::make_events(Slot& s) {
  if (s.ev[0] == nullptr) {
    for (cudaEvent_t& ev : s.ev) TRTN_CUDA_TRY(cudaEventCreate(&ev));
  }
  return Status::ok();
}

Status RunLoop::reserve(Slot& s, int batch) {
  if (batch <= s.capacity) return Status::ok();
  size_t in = 0, out = 0;
  for (size_t b : in_bytes_) in += (b * batch + 255) / 256 * 256;
  for (size_t b : out_bytes_) out += (b * batch + 255) / 256 * 256;
  s.capacity = 0;
  TRTN_TRY(s.in.allocate(in, "the input staging of batch " + std::to_string(batch)));
  TRTN_TRY(s.out.allocate(out, "the output staging of batch " + std::to_string(batch)));
  // Runs without copies read whatever staging holds: zeros, not garbage that could be NaN.
  TRTN_CUDA_TRY(cudaMemsetAsync(s.in.get(), 0, s.in.bytes(), in_stream_));
  TRTN_CUDA_TRY(cudaStreamSynchronize(in_stream_));
  s.capacity = batch;
  return Status::ok();
}

Status RunLoop::submit(Inference* inf, DeviceCompute& compute) {
  TRTN_TRY(usable());
  if (in_flight_ >= kMaxQueueDepth)
    return Status(Code::kInternal, "run loop: more than " + std::to_string(kMaxQueueDepth) + " inferences in flight");
  const auto start = std::chrono::steady_clock::now();
  TRTN_CUDA_TRY(cudaSetDevice(device_));
  if (free_.empty()) {
    slots_.emplace_back();
    free_.push_back(static_cast<int>(slots_.size()) - 1);
  }
  const int slot = free_.front();
  Slot& s = slots_[slot];
  s.in_place = inf->lone && inf->options.transfers && inf->io.pinned && compute.in_place_ok(*inf);
  Status st = make_events(s);
  if (st.is_ok() && !s.in_place) st = reserve(s, inf->batch);  // in place: no staging
  if (st.is_ok()) st = s.in_place ? enqueue_in_place(inf, s, slot, compute) : enqueue(inf, s, slot, compute);
  if (!st.is_ok()) {
    // Whatever was enqueued must finish before the caller's memory may go.
    for (cudaStream_t stream : {in_stream_, compute_, out_stream_}) cudaStreamSynchronize(stream);
    cudaGetLastError();
    return st;
  }
  free_.pop_front();
  flight_.push_back(slot);
  ++in_flight_;
  inf->timing = RunTiming{};
  inf->timing.enqueue_ms = since_ms(start);
  return Status::ok();
}

Status RunLoop::enqueue(Inference* inf, Slot& s, int slot, DeviceCompute& compute) {
  const int batch = inf->batch;
  const bool copies = inf->options.transfers;
  std::vector<const void*> in;
  std::vector<void*> out;
  char* at = s.in.as<char>();
  for (size_t b : in_bytes_) {
    in.push_back(at);
    at += (b * batch + 255) / 256 * 256;
  }
  at = s.out.as<char>();
  for (size_t b : out_bytes_) {
    out.push_back(at);
    at += (b * batch + 255) / 256 * 256;
  }
  // A lone inference keeps everything on the compute stream: nothing to overlap with.
  cudaStream_t in_stream = inf->lone ? compute_ : in_stream_;
  cudaStream_t out_stream = inf->lone ? compute_ : out_stream_;
  TRTN_CUDA_TRY(cudaEventRecord(s.ev[0], in_stream));
  for (size_t i = 0; copies && i < in.size(); ++i) {
    TRTN_CUDA_TRY(cudaMemcpyAsync(const_cast<void*>(in[i]), inf->io.inputs[i], in_bytes_[i] * batch,
                                  cudaMemcpyHostToDevice, in_stream));
  }
  TRTN_CUDA_TRY(cudaEventRecord(s.ev[1], in_stream));
  if (!inf->lone) TRTN_CUDA_TRY(cudaStreamWaitEvent(compute_, s.ev[1], 0));
  TRTN_CUDA_TRY(cudaEventRecord(s.ev[2], compute_));
  TRTN_TRY(compute.enqueue(*inf, slot, in, out, compute_));
  TRTN_CUDA_TRY(cudaEventRecord(s.ev[3], compute_));
  if (!inf->lone) TRTN_CUDA_TRY(cudaStreamWaitEvent(out_stream, s.ev[3], 0));
  TRTN_CUDA_TRY(cudaEventRecord(s.ev[4], out_stream));
  for (size_t i = 0; copies && i < out.size(); ++i) {
    TRTN_CUDA_TRY(
        cudaMemcpyAsync(inf->io.outputs[i], out[i], out_bytes_[i] * batch, cudaMemcpyDeviceToHost, out_stream));
  }
  TRTN_CUDA_TRY(cudaEventRecord(s.ev[5], out_stream));
  return Status::ok();
}

Status RunLoop::enqueue_in_place(Inference* inf, Slot& s, int slot, DeviceCompute& compute) {
  const std::vector<const void*>& in = inf->io.inputs;
  const std::vector<void*>& out = inf->io.outputs;
  TRTN_CUDA_TRY(cudaEventRecord(s.ev[2], compute_));
  TRTN_TRY(compute.enqueue(*inf, slot, in, out, compute_));
  return TRTN_CUDA_STATUS(cudaEventRecord(s.ev[3], compute_));
}

bool RunLoop::ready() const {
  if (flight_.empty()) return true;
  const Slot& s = slots_[flight_.front()];
  return cudaEventQuery(s.done()) != cudaErrorNotReady;  // an error: wait() reports it
}

Status RunLoop::wait(Inference* inf, DeviceCompute& compute) {
  if (flight_.empty()) return Status(Code::kInternal, "run loop: wait without an inference in flight");
  const int slot = flight_.front();
  flight_.pop_front();
  free_.push_back(slot);
  --in_flight_;
  Slot& s = slots_[slot];
  if (Status st = TRTN_CUDA_STATUS(cudaEventSynchronize(s.done())); !st.is_ok()) return fail(st);
  float ms[3] = {0, 0, 0};  // h2d, compute, d2h; in place the copies are part of the compute
  for (int k = 0; k < 3; ++k) {
    if (!s.in_place || k == 1) TRTN_CUDA_TRY(cudaEventElapsedTime(&ms[k], s.ev[2 * k], s.ev[2 * k + 1]));
  }
  inf->timing.valid = true;  // enqueue_ms and queue_ms were set when it was submitted
  inf->timing.h2d_ms = ms[0];
  inf->timing.compute_ms = ms[1];
  inf->timing.d2h_ms = ms[2];
  return compute.completed(*inf);
}

}  // namespace trtn::gpu
