// copyRows and diffRows: reads from a mapping of a file someone else controls (a client's shm pool).
// If the file shrank under the mapping, the SIGBUS handler maps zero pages over the whole source
// mapping, the read completes with zeros, and the caller hears of it; the process lives on.
#include "util.h"

#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>

#include <atomic>
#include <cstring>
#include <mutex>
#include <string>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

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

// While alive, a SIGBUS inside the watched mapping replaces it with zero pages instead of ending
// the process. One guarded read at a time, process-wide.
class SourceGuard {
 public:
  SourceGuard() : lock_(copy_lock) {}
  ~SourceGuard() { guard_begin.store(nullptr); }

  bool Watch(Napi::Env env, char* begin, size_t length) {
    if (!InstallHandler(env)) return false;
    guard_hit = 0;
    guard_length.store(length);
    guard_begin.store(begin);
    return true;
  }

  bool Faulted() const { return guard_hit != 0; }

 private:
  std::lock_guard<std::mutex> lock_;
};

// The mmap'd ArrayBuffer at info[i], or null after throwing.
char* MappingArg(const Napi::CallbackInfo& info, size_t i, const char* fn, size_t* length) {
  if (!info[i].IsArrayBuffer()) {
    Napi::TypeError::New(info.Env(), std::string(fn) + ": src must be an ArrayBuffer returned by mmap").ThrowAsJavaScriptException();
    return nullptr;
  }
  Napi::ArrayBuffer src = info[i].As<Napi::ArrayBuffer>();
  char* base = static_cast<char*>(src.Data());
  *length = src.ByteLength();
  if (base == nullptr || !IsMapping(base, *length)) {
    ThrowErrno(info.Env(), EINVAL, fn, "src is not a live ArrayBuffer returned by mmap");
    return nullptr;
  }
  return base;
}

bool Uint8ArrayArg(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name) {
  if (info[i].IsTypedArray() && info[i].As<Napi::TypedArray>().TypedArrayType() == napi_uint8_array) return true;
  Napi::TypeError::New(info.Env(), std::string(fn) + ": " + name + " must be a Uint8Array").ThrowAsJavaScriptException();
  return false;
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
  size_t src_length;
  char* src_base = MappingArg(info, 0, "copyRows", &src_length);
  if (src_base == nullptr || !Uint8ArrayArg(info, 2, "copyRows", "dst")) return env.Undefined();
  uint64_t src_offset, dst_offset, row_bytes, rows, stride;
  if (!ArgSize(info, 1, "srcOffset", &src_offset) || !ArgSize(info, 3, "dstOffset", &dst_offset) ||
      !ArgSize(info, 4, "rowBytes", &row_bytes) || !ArgSize(info, 5, "rows", &rows) ||
      !ArgSize(info, 6, "stride", &stride)) {
    return env.Undefined();
  }
  Napi::Uint8Array dst = info[2].As<Napi::Uint8Array>();
  if (!RowsFit(src_offset, row_bytes, rows, stride, src_length) || !RowsFit(dst_offset, row_bytes, rows, stride, dst.ByteLength())) {
    ThrowErrno(env, ERANGE, "copyRows", "rows outside the source or the destination");
    return env.Undefined();
  }
  SourceGuard guard;
  if (!guard.Watch(env, src_base, src_length)) return env.Undefined();
  const char* from = src_base + src_offset;
  uint8_t* to = dst.Data() + dst_offset;
  for (uint64_t i = 0; i < rows; i++, from += stride, to += stride) std::memcpy(to, from, row_bytes);
  return Napi::Boolean::New(env, !guard.Faulted());
}

// Compared in blocks of this many bytes; a changed block is sent whole.
constexpr uint64_t kDiffBlock = 64;
// Unchanged bytes between two changes shorter than this go along with them: one span, not two.
constexpr uint64_t kDiffGap = 256;

// Bytes of whole 64-byte blocks at the start of a and b (n bytes each) that are equal: stops at the
// first block that differs, and before a last block shorter than 64.
size_t EqualBlocksGeneric(const uint8_t* a, const uint8_t* b, size_t n) {
  size_t at = 0;
  for (; at + 64 <= n; at += 64) {
    uint64_t differ = 0;
    for (int i = 0; i < 8; i++) {
      uint64_t x, y;
      std::memcpy(&x, a + at + 8 * i, 8);
      std::memcpy(&y, b + at + 8 * i, 8);
      differ |= x ^ y;
    }
    if (differ != 0) break;
  }
  return at;
}

#if defined(__x86_64__)
__attribute__((target("avx2"))) size_t EqualBlocksAvx2(const uint8_t* a, const uint8_t* b, size_t n) {
  size_t at = 0;
  for (; at + 64 <= n; at += 64) {
    const __m256i lo = _mm256_cmpeq_epi8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + at)),
                                         _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + at)));
    const __m256i hi = _mm256_cmpeq_epi8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + at + 32)),
                                         _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + at + 32)));
    if (_mm256_movemask_epi8(_mm256_and_si256(lo, hi)) != -1) break;
  }
  return at;
}
#endif

size_t (*ChooseEqualBlocks())(const uint8_t*, const uint8_t*, size_t) {
#if defined(__x86_64__)
  if (__builtin_cpu_supports("avx2")) return EqualBlocksAvx2;
#endif
  return EqualBlocksGeneric;
}

size_t (*const EqualBlocks)(const uint8_t*, const uint8_t*, size_t) = ChooseEqualBlocks();

// diffRows(src, shadow, offset, rowBytes, rows, stride, spans) -> spans found (negative:
// -(spans + 1) when the source faulted and read as zeros). Compares each row of src with the
// same bytes of shadow; each changed span is copied into shadow and noted in spans as an
// [offset, length] pair. spans needs 2 * (rows * (rowBytes / kDiffGap + 1)) elements.
Napi::Value DiffRows(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  size_t src_length;
  char* src_base = MappingArg(info, 0, "diffRows", &src_length);
  if (src_base == nullptr || !Uint8ArrayArg(info, 1, "diffRows", "shadow")) return env.Undefined();
  uint64_t offset, row_bytes, rows, stride;
  if (!ArgSize(info, 2, "offset", &offset) || !ArgSize(info, 3, "rowBytes", &row_bytes) || !ArgSize(info, 4, "rows", &rows) ||
      !ArgSize(info, 5, "stride", &stride)) {
    return env.Undefined();
  }
  if (!info[6].IsTypedArray() || info[6].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) {
    Napi::TypeError::New(env, "diffRows: spans must be a Float64Array").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Uint8Array shadow = info[1].As<Napi::Uint8Array>();
  Napi::Float64Array spans = info[6].As<Napi::Float64Array>();
  if (!RowsFit(offset, row_bytes, rows, stride, src_length) || !RowsFit(offset, row_bytes, rows, stride, shadow.ByteLength()) ||
      spans.ElementLength() / 2 < rows * (row_bytes / kDiffGap + 1)) {
    ThrowErrno(env, ERANGE, "diffRows", "rows outside src or shadow, or spans too small");
    return env.Undefined();
  }
  SourceGuard guard;
  if (!guard.Watch(env, src_base, src_length)) return env.Undefined();
  double* found = spans.Data();
  uint64_t count = 0;
  for (uint64_t r = 0; r < rows; r++) {
    const uint64_t row_offset = offset + r * stride;
    const char* row = src_base + row_offset;
    uint8_t* shadow_row = shadow.Data() + row_offset;
    auto emit = [&](uint64_t begin, uint64_t end) {
      std::memcpy(shadow_row + begin, row + begin, end - begin);
      found[2 * count] = static_cast<double>(row_offset + begin);
      found[2 * count + 1] = static_cast<double>(end - begin);
      count++;
    };
    bool open = false;
    uint64_t begin = 0, end = 0;
    for (uint64_t at = 0; at < row_bytes; at += kDiffBlock) {
      at += EqualBlocks(reinterpret_cast<const uint8_t*>(row) + at, shadow_row + at, row_bytes - at);
      if (at >= row_bytes) break;
      const uint64_t length = row_bytes - at < kDiffBlock ? row_bytes - at : kDiffBlock;
      if (std::memcmp(row + at, shadow_row + at, length) == 0) continue;
      if (open && at - end < kDiffGap) {
        end = at + length;
        continue;
      }
      if (open) emit(begin, end);
      open = true;
      begin = at;
      end = at + length;
    }
    if (open) emit(begin, end);
  }
  const double result = static_cast<double>(count);
  return Napi::Number::New(env, guard.Faulted() ? -(result + 1) : result);
}

}  // namespace

void InitGuardedCopy(Napi::Env env, Napi::Object exports) {
  exports.Set("copyRows", Napi::Function::New(env, CopyRows, "copyRows"));
  exports.Set("diffRows", Napi::Function::New(env, DiffRows, "diffRows"));
  exports.Set("DIFF_GAP_BYTES", Napi::Number::New(env, static_cast<double>(kDiffGap)));
}

}  // namespace wayvio
