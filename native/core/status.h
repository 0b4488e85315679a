// Status: how native code reports failure. Nothing in native/ throws across a module boundary,
// aborts or exits; functions return a Status and the N-API glue turns it into a JS error with
// the same stable code (lib/errors.ts holds the JS side of this list).
#pragma once

#include <string>
#include <utility>

namespace trtn {

/// Stable error codes shared with lib/errors.ts. Append only: the strings are public API.
enum class Code {
  kOk = 0,
  kInvalidArgument,     // E_INVALID_ARGUMENT
  kParse,               // E_PARSE
  kUnsupportedLayer,    // E_UNSUPPORTED_LAYER
  kShape,               // E_SHAPE
  kWeights,             // E_WEIGHTS
  kPlanCorrupt,         // E_PLAN_CORRUPT
  kPlanVersion,         // E_PLAN_VERSION
  kOutOfMemory,         // E_OUT_OF_MEMORY
  kCuda,                // E_CUDA
  kNoDevice,            // E_NO_DEVICE
  kBackendUnavailable,  // E_BACKEND_UNAVAILABLE
  kDisposed,            // E_DISPOSED
  kInternal,            // E_INTERNAL
  kIO,                  // E_IO
  kPlanBackend,         // E_PLAN_BACKEND
  kPlanArch,            // E_PLAN_ARCH
  kCalibration,         // E_CALIBRATION
  kAborted,             // E_ABORTED
  kPlugin,              // E_PLUGIN
};

/// The JS-visible code string for a Code ("E_CUDA" ...).
const char* code_name(Code code);

/// Result of a native operation: ok, or a code and a human-readable message.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  /// The success value.
  static Status ok() { return Status(); }

  bool is_ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

}  // namespace trtn

/// Evaluates `expr` (a Status) once; when it is not ok, returns it from the enclosing function
/// unchanged. For a failure that needs context added, keep the explicit check.
#define TRTN_TRY(expr)                              \
  do {                                              \
    ::trtn::Status trtn_try_st_ = (expr);           \
    if (!trtn_try_st_.is_ok()) return trtn_try_st_; \
  } while (0)
