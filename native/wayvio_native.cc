// Entry point of the wayvio native addon: registers every function and constant.
#include "util.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  wayvio::InitSockets(env, exports);
  wayvio::InitMessages(env, exports);
  wayvio::InitFdIo(env, exports);
  wayvio::InitMemory(env, exports);
  wayvio::InitFdWatcher(env, exports);
  wayvio::InitGuardedCopy(env, exports);
  wayvio::InitExec(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(wayvio_native, Init)
