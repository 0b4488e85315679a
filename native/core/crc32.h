// CRC-32 (the zlib / PNG polynomial, reflected 0xEDB88320), as the plan container's checksum uses
// it (lib/builder/plan_file.ts computes the same with zlib.crc32): streaming, slice-by-8.
#pragma once

#include <cstddef>
#include <cstdint>

namespace trtn {

/// Extends `crc` (0 to start) over `n` bytes; crc32(crc32(0, a), b) == crc32(0, a + b).
uint32_t crc32(uint32_t crc, const void* data, size_t n);

}  // namespace trtn
