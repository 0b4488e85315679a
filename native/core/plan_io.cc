#include "core/plan_io.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "core/byte_stream.h"
#include "core/crc32.h"

#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#endif

namespace trtn {
namespace {

Status io_error(const std::string& what, const std::string& path) {
  return Status(Code::kIO, what + " " + path + ": " + std::strerror(errno));
}

using File = std::unique_ptr<FILE, int (*)(FILE*)>;

/// Appends to a file through stdio's buffer, keeping the CRC of everything from byte 32 on.
class PlanFileSink : public ByteSink {
 public:
  PlanFileSink(FILE* f, std::string path) : f_(f), path_(std::move(path)) {}
  Status write(const void* data, size_t n) override {
    if (n == 0) return Status::ok();
    const auto* p = static_cast<const uint8_t*>(data);
    if (offset_ < kPlanChecksummedFrom) {
      const size_t skip = static_cast<size_t>(std::min<uint64_t>(n, kPlanChecksummedFrom - offset_));
      crc_ = crc32(crc_, p + skip, n - skip);
    } else {
      crc_ = crc32(crc_, p, n);
    }
    if (std::fwrite(p, 1, n, f_) != n) return io_error("cannot write plan", path_);
    offset_ += n;
    return Status::ok();
  }
  /// Zeros up to `offset` (the sections' 64-byte alignment).
  Status pad_to(uint64_t offset) {
    static const uint8_t zeros[64] = {};
    while (offset_ < offset) {
      TRTN_TRY(write(zeros, static_cast<size_t>(std::min<uint64_t>(sizeof zeros, offset - offset_))));
    }
    return offset_ == offset ? Status::ok() : Status(Code::kInternal, "plan writer: a section overlaps the one before");
  }
  uint64_t offset() const { return offset_; }
  uint32_t crc() const { return crc_; }

 private:
  FILE* f_;
  std::string path_;
  uint64_t offset_ = 0;
  uint32_t crc_ = 0;
};

Status write_sections(PlanFileSink& sink, const std::vector<uint8_t>& head, const PlanLayout& layout,
                      const std::string& graph_json, const WeightStore& weights, const std::vector<uint8_t>& backend) {
  Status st = sink.write(head.data(), head.size());
  if (st.is_ok()) st = sink.pad_to(layout.graph_offset);
  if (st.is_ok()) st = sink.write(graph_json.data(), graph_json.size());
  if (st.is_ok()) st = sink.pad_to(layout.weights_offset);
  if (st.is_ok()) st = weights.serialize(sink);
  if (st.is_ok() && sink.offset() != layout.weights_offset + layout.weights_length) {
    st = Status(Code::kInternal, "plan writer: the weights section is not the length laid out");
  }
  if (st.is_ok()) st = sink.pad_to(layout.backend_offset);
  if (st.is_ok()) st = sink.write(backend.data(), backend.size());
  if (st.is_ok() && sink.offset() != layout.total)
    st = Status(Code::kInternal, "plan writer: the plan is not the length laid out");
  return st;
}

/// Reads a file front to back, keeping the CRC of everything from byte 32 on.
class PlanFileReader {
 public:
  PlanFileReader(FILE* f, std::string path) : f_(f), path_(std::move(path)) {}
  bool read(void* dst, size_t n) {
    if (n == 0) return true;
    if (std::fread(dst, 1, n, f_) != n) {
      if (std::ferror(f_)) error_ = io_error("cannot read plan", path_);
      return false;
    }
    const auto* p = static_cast<const uint8_t*>(dst);
    const size_t skip =
        offset_ < kPlanChecksummedFrom ? static_cast<size_t>(std::min<uint64_t>(n, kPlanChecksummedFrom - offset_)) : 0;
    crc_ = crc32(crc_, p + skip, n - skip);
    offset_ += n;
    return true;
  }
  /// Reads (and checksums) everything up to `offset`.
  bool skip_to(uint64_t offset) {
    uint8_t buffer[1 << 16];
    while (offset_ < offset) {
      if (!read(buffer, static_cast<size_t>(std::min<uint64_t>(sizeof buffer, offset - offset_)))) return false;
    }
    return offset_ == offset;
  }
  uint64_t offset() const { return offset_; }
  uint32_t crc() const { return crc_; }
  const Status& error() const { return error_; }

 private:
  FILE* f_;
  std::string path_;
  uint64_t offset_ = 0;
  uint32_t crc_ = 0;
  Status error_;
};

/// One section of the file as a ByteSource.
class SectionSource : public ByteSource {
 public:
  SectionSource(PlanFileReader& r, uint64_t end) : r_(r), end_(end) {}
  bool read(void* dst, size_t n) override { return n <= left() && r_.read(dst, n); }
  uint64_t left() const override { return end_ > r_.offset() ? end_ - r_.offset() : 0; }
  Status status() const override { return r_.error(); }

 private:
  PlanFileReader& r_;
  uint64_t end_;
};

Status checksum_mismatch() { return Status(Code::kPlanCorrupt, "checksum mismatch (the file was changed or damaged)"); }

Status truncated(const std::string& path, const PlanFileReader& r) {
  if (!r.error().is_ok()) return r.error();
  return Status(Code::kPlanCorrupt, path + " ended early (the file is truncated or changed)");
}

}  // namespace

Status write_plan_file(const std::string& path, const std::vector<uint8_t>& head, const PlanLayout& layout,
                       const std::string& graph_json, const WeightStore& weights, const std::vector<uint8_t>& backend) {
  const std::string tmp = path + ".tmp-" + std::to_string(static_cast<long long>(getpid()));
  File f(std::fopen(tmp.c_str(), "wb"), std::fclose);
  if (!f) return io_error("cannot write plan", path);
  std::setvbuf(f.get(), nullptr, _IOFBF, 1 << 20);
  PlanFileSink sink(f.get(), path);
  Status st = write_sections(sink, head, layout, graph_json, weights, backend);
  if (st.is_ok()) {
    uint8_t le[4];
    const uint32_t crc = sink.crc();
    for (int i = 0; i < 4; ++i) le[i] = static_cast<uint8_t>(crc >> (8 * i));
    if (std::fseek(f.get(), static_cast<long>(kPlanCrcField), SEEK_SET) != 0 || std::fwrite(le, 1, 4, f.get()) != 4) {
      st = io_error("cannot write plan", path);
    }
  }
  if (st.is_ok() && std::fflush(f.get()) != 0) st = io_error("cannot write plan", path);
  FILE* raw = f.release();
  if (std::fclose(raw) != 0 && st.is_ok()) st = io_error("cannot write plan", path);
  if (st.is_ok() && std::rename(tmp.c_str(), path.c_str()) != 0) st = io_error("cannot write plan", path);
  if (!st.is_ok()) std::remove(tmp.c_str());
  return st;
}

Status read_plan_file(const std::string& path, const PlanLayout& layout, uint32_t crc, WeightStore* weights,
                      std::vector<uint8_t>* backend) {
  File f(std::fopen(path.c_str(), "rb"), std::fclose);
  if (!f) return io_error("cannot read plan", path);
  std::setvbuf(f.get(), nullptr, _IOFBF, 1 << 20);
  PlanFileReader r(f.get(), path);
  if (!r.skip_to(layout.weights_offset)) return truncated(path, r);
  SectionSource section(r, layout.weights_offset + layout.weights_length);
  Status st = WeightStore::deserialize(section, weights);
  if (!st.is_ok()) {
    // A damaged file is reported as such first, as the in-memory reader does: read on for the CRC.
    if (st.code() == Code::kPlanCorrupt && r.skip_to(layout.total) && r.crc() != crc) return checksum_mismatch();
    return st;
  }
  if (!r.skip_to(layout.backend_offset)) return truncated(path, r);
  backend->resize(static_cast<size_t>(layout.backend_length));
  if (!r.read(backend->data(), backend->size()) || !r.skip_to(layout.total)) return truncated(path, r);
  uint8_t extra;
  if (std::fread(&extra, 1, 1, f.get()) == 1) {
    return Status(Code::kPlanCorrupt, path + " is longer than its header says (the file was changed)");
  }
  if (r.crc() != crc) return checksum_mismatch();
  return Status::ok();
}

}  // namespace trtn
