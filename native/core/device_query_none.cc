// Device query for an addon built without CUDA: there is nothing this binary could run on a GPU.
#include "core/build_info.h"
#include "core/device_query.h"

namespace trtn {

DeviceList query_devices(bool /*check_images*/) {
  DeviceList list;
  list.reason = build_info().note;
  return list;
}

}  // namespace trtn
