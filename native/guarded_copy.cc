// copyRows: memcpy out of a mapping of a file someone else controls (a client's shm pool). If the
// file shrank under the mapping, the SIGBUS handler maps zero pages over the whole source mapping,
// the copy completes with zeros, and the caller hears false; the process lives on.
#include "util.h"

#include <signal.h>
#include <sys/mman.h>

#include <atomic>
#include <cstring>
#include <mutex>

namespace wayvio {

namespace {

// The mapping a copy is reading, or null. One copy at a time, process-wide.
std::mutex copy_lock;
std::atomic<char*> guard_begin{nullptr};
std::atomic<size_t> guard_length{0};
volatile sig_atomic_t guard_hit = 0;
struct sigaction previous_action;
bool handler_installed = false;

void OnSigbus(int sig, siginfo_t* info, void* context) {
  char* begin = guard_begin.load();
  char* address = static_cast<char*>(info->si_addr);
  if (begin != nullptr && address >= begin && address < begin + guard_length.load()) {
    // mmap is async-signal-safe; the faulting load restarts and reads zeros
    if (mmap(begin, guard_length.load(), PROT_READ, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) != MAP_FAILED) {
      guard_hit = 1;
      return;
    }
  }
  if ((previous_action.sa_flags & SA_SIGINFO) != 0 && previous_action.sa_sigaction != nullptr) {
    previous_action.sa_sigaction(sig, info, context);
  } else if (previous_action.sa_handler != SIG_DFL && previous_action.sa_handler != SIG_IGN) {
    previous_action.sa_handler(sig);
  } else {
    // not ours: with the old disposition back, the fault happens again and does what it always did
    sigaction(SIGBUS, &previous_action, nullptr);
  }
}

bool InstallHandler(Napi::Env env) {
  if (handler_installed) return true;
  struct sigaction action;
  std::memset(&action, 0, sizeof action);
  action.sa_sigaction = OnSigbus;
  action.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&action.sa_mask);
  if (sigaction(SIGBUS, &action, &previous_action) < 0) {
    ThrowErrno(env, errno, "sigaction");
    return false;
  }
  handler_installed = true;
  return true;
}

// Bytes from `offset` to the end of `rows` rows of `row_bytes` spaced `stride` apart, if inside `size`.
bool RowsFit(uint64_t offset, uint64_t row_bytes, uint64_t rows, uint64_t stride, uint64_t size) {
  if (rows == 0 || row_bytes == 0) return offset <= size;
  if (rows > 1 && stride < row_bytes) return false;
  const uint64_t limit = 1ULL << 52;  // every argument is at most 2^53, so these sums cannot wrap
  if (rows > 1 && stride > limit / (rows - 1)) return false;
  return offset + (rows - 1) * stride + row_bytes <= size;
}

// copyRows(src: ArrayBuffer from mmap, srcOffset, dst: Uint8Array, dstOffset, rowBytes, rows, stride) -> boolean
Napi::Value CopyRows(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsArrayBuffer()) {
    Napi::TypeError::New(env, "copyRows: src must be an ArrayBuffer returned by mmap").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (!info[2].IsTypedArray() || info[2].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    Napi::TypeError::New(env, "copyRows: dst must be a Uint8Array").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  uint64_t src_offset, dst_offset, row_bytes, rows, stride;
  if (!ArgSize(info, 1, "srcOffset", &src_offset) || !ArgSize(info, 3, "dstOffset", &dst_offset) ||
      !ArgSize(info, 4, "rowBytes", &row_bytes) || !ArgSize(info, 5, "rows", &rows) ||
      !ArgSize(info, 6, "stride", &stride)) {
    return env.Undefined();
  }
  Napi::ArrayBuffer src = info[0].As<Napi::ArrayBuffer>();
  Napi::Uint8Array dst = info[2].As<Napi::Uint8Array>();
  char* src_base = static_cast<char*>(src.Data());
  size_t src_length = src.ByteLength();
  if (src_base == nullptr || !IsMapping(src_base, src_length)) {
    ThrowErrno(env, EINVAL, "copyRows", "src is not a live ArrayBuffer returned by mmap");
    return env.Undefined();
  }
  if (!RowsFit(src_offset, row_bytes, rows, stride, src_length) || !RowsFit(dst_offset, row_bytes, rows, stride, dst.ByteLength())) {
    ThrowErrno(env, ERANGE, "copyRows", "rows outside the source or the destination");
    return env.Undefined();
  }
  std::lock_guard<std::mutex> lock(copy_lock);
  if (!InstallHandler(env)) return env.Undefined();
  guard_hit = 0;
  guard_length.store(src_length);
  guard_begin.store(src_base);
  const char* from = src_base + src_offset;
  uint8_t* to = dst.Data() + dst_offset;
  for (uint64_t i = 0; i < rows; i++, from += stride, to += stride) std::memcpy(to, from, row_bytes);
  guard_begin.store(nullptr);
  return Napi::Boolean::New(env, guard_hit == 0);
}

}  // namespace

void InitGuardedCopy(Napi::Env env, Napi::Object exports) {
  exports.Set("copyRows", Napi::Function::New(env, CopyRows, "copyRows"));
}

}  // namespace wayvio
