// linkProbe(delayUs, holdUs, wakeAhead): a test probe of the link back to JavaScript (see .cc).
#pragma once

#include <napi.h>

namespace trtn::js {

Napi::Value LinkProbeJs(const Napi::CallbackInfo& info);

}  // namespace trtn::js
