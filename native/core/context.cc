// Context::execute_many: trtexec's timing loop over any context's submit / wait (backend.h).
#include <algorithm>
#include <chrono>
#include <deque>
#include <string>

#include "core/backend.h"

namespace trtn {

Status Context::execute_many(const Inference& proto, int count, int want_depth, std::vector<QueuedRun>* runs) {
  if (count < 1 || want_depth < 1 || want_depth > kMaxQueueDepth) {
    return Status(Code::kInvalidArgument,
                  "execute_many: count must be >= 1 and depth in [1, " + std::to_string(kMaxQueueDepth) + "]");
  }
  if (proto.options.profile || proto.stats != nullptr) {
    return Status(Code::kInvalidArgument,
                  "per-layer profiles and calibration time one inference at a time: queue depth 1");
  }
  const size_t depth = static_cast<size_t>(std::min(want_depth, this->depth()));
  runs->assign(count, QueuedRun{});
  const auto start = std::chrono::steady_clock::now();
  const auto since = [&start]() {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  };
  // A deque keeps the addresses of the inferences in flight while others are added and removed.
  std::deque<Inference> flight;
  std::deque<int> index;
  const auto finish_oldest = [&]() -> Status {
    Status st = wait(&flight.front());
    QueuedRun& r = (*runs)[index.front()];
    r.done_ms = since();
    const double enqueue_ms = r.timing.enqueue_ms;
    r.timing = flight.front().timing;
    r.timing.enqueue_ms = r.timing.valid ? enqueue_ms : r.done_ms - r.submit_ms;
    flight.pop_front();
    index.pop_front();
    return st;
  };
  Status failed;
  for (int i = 0; i < count && failed.is_ok(); ++i) {
    if (flight.size() == depth) failed = finish_oldest();
    if (!failed.is_ok()) break;
    flight.push_back(proto);
    index.push_back(i);
    QueuedRun& r = (*runs)[i];
    r.submit_ms = since();
    failed = submit(&flight.back());
    r.timing.enqueue_ms = since() - r.submit_ms;
    if (!failed.is_ok()) {
      flight.pop_back();
      index.pop_back();
    }
  }
  // Whatever happened, nothing may stay in flight: the caller's memory goes when this returns.
  while (!flight.empty()) {
    Status st = finish_oldest();
    if (failed.is_ok()) failed = st;
  }
  return failed;
}

}  // namespace trtn
