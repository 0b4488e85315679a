// Plan files written and read in one pass, without the whole plan in memory: the weights go from
// the engine's WeightStore straight into the file and come back straight into a new one (peak host
// memory about one copy of the weights). The container's layout (lib/builder/plan_file.ts) is laid
// out in TypeScript, which hands over the head (fixed header and JSON header) and the section
// offsets; the CRC-32 of bytes 32..end is computed here as the bytes pass.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/weights.h"

namespace trtn {

/// Where a plan's sections lie (byte offsets from the file's start) and its total length.
struct PlanLayout {
  uint64_t graph_offset = 0, weights_offset = 0, weights_length = 0, backend_offset = 0, backend_length = 0;
  uint64_t total = 0;
};

/// Offset of the CRC-32 field in the fixed header, and where the checksummed bytes start.
constexpr uint64_t kPlanCrcField = 24;
constexpr uint64_t kPlanChecksummedFrom = 32;

/// Writes a plan to `path` through a temporary file renamed over it (a failure leaves no partial
/// plan): `head` (bytes 0 .. graph_offset, the CRC field zero), the graph JSON, the weights and
/// the backend section, each at its offset with zeros between; then the CRC. kIO naming the path.
Status write_plan_file(const std::string& path, const std::vector<uint8_t>& head, const PlanLayout& layout,
                       const std::string& graph_json, const WeightStore& weights, const std::vector<uint8_t>& backend);

/// Reads a plan file's weights and backend sections, checking the CRC-32 of bytes 32..total
/// against `crc` after reading everything (kPlanCorrupt "checksum mismatch"). The head and the
/// graph section were read and checked by the caller.
Status read_plan_file(const std::string& path, const PlanLayout& layout, uint32_t crc, WeightStore* weights,
                      std::vector<uint8_t>* backend);

}  // namespace trtn
