// Byte sinks and sources for serialized data, so the same code writes a weights section into
// memory or straight into a plan file, and reads it back from either (core/plan_io.h has the file
// side). Sources check every read against what is left: a short read is a failed read, never a
// read past the end.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "core/status.h"

namespace trtn {

/// Where serialized bytes go.
class ByteSink {
 public:
  virtual ~ByteSink() = default;
  /// Appends `n` bytes; a failure (a full disk) is returned and stops the writer.
  virtual Status write(const void* data, size_t n) = 0;
};

/// Appends to a vector.
class VectorSink : public ByteSink {
 public:
  explicit VectorSink(std::vector<uint8_t>* out) : out_(out) {}
  Status write(const void* data, size_t n) override {
    const auto* p = static_cast<const uint8_t*>(data);
    out_->insert(out_->end(), p, p + n);
    return Status::ok();
  }

 private:
  std::vector<uint8_t>* out_;
};

/// Counts the bytes a writer would produce, without keeping them.
class CountingSink : public ByteSink {
 public:
  Status write(const void* /*data*/, size_t n) override {
    bytes_ += n;
    return Status::ok();
  }
  uint64_t bytes() const { return bytes_; }

 private:
  uint64_t bytes_ = 0;
};

/// Where serialized bytes come from.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  /// Reads exactly `n` bytes; false (nothing consumed that matters) when fewer are left or the
  /// underlying read fails (status() then says why).
  virtual bool read(void* dst, size_t n) = 0;
  /// Bytes left.
  virtual uint64_t left() const = 0;
  /// Why the last read failed, when it was not simply the end (an I/O error).
  virtual Status status() const { return Status::ok(); }
};

/// Reads from memory.
class MemorySource : public ByteSource {
 public:
  MemorySource(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  bool read(void* dst, size_t n) override {
    if (n > size_ - pos_) return false;
    if (n > 0) std::memcpy(dst, data_ + pos_, n);
    pos_ += n;
    return true;
  }
  uint64_t left() const override { return size_ - pos_; }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

}  // namespace trtn
