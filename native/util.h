// Shared helpers for the addon: Node-style errno errors and total argument readers.
#pragma once

#include <napi.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>

#include <sys/types.h>

namespace wayvio {

// Throws Error{message: "<syscall> <CODE>[: detail]", code, errno: -err, syscall}.
void ThrowErrno(Napi::Env env, int err, const char* syscall, const char* detail = nullptr);
// Same for a libuv status (already negative).
void ThrowUv(Napi::Env env, int status, const char* syscall);
// Error with a stable code that is not an errno (e.g. ECTRUNC).
void ThrowCode(Napi::Env env, const char* code, const char* syscall, const char* message);
// What a nonblocking call (read, write, sendmsg, accept...) returned, for JS: its non-negative
// result, -1 on EAGAIN, or (n < 0, errno set) a thrown errno error.
Napi::Value ResultOrAgain(Napi::Env env, ssize_t n, const char* syscall);

// The readers below validate just enough to stay memory-safe; friendly checks live in TS.
// Each returns false after throwing a TypeError/RangeError.
bool ArgInt32(const Napi::CallbackInfo& info, size_t i, const char* name, int32_t* out);
bool ArgFd(const Napi::CallbackInfo& info, size_t i, int* out);
bool ArgUint32(const Napi::CallbackInfo& info, size_t i, const char* name, uint32_t* out);
// A non-negative integer up to 2^53, for sizes and file offsets.
bool ArgSize(const Napi::CallbackInfo& info, size_t i, const char* name, uint64_t* out);
bool ArgBool(const Napi::CallbackInfo& info, size_t i, const char* name, bool* out);
bool ArgString(const Napi::CallbackInfo& info, size_t i, const char* name, std::string* out);
// info[i] is a Uint8Array, info[i+1] an offset, info[i+2] a length inside it.
bool ArgBytes(const Napi::CallbackInfo& info, size_t i, uint8_t** data, size_t* length);

void CloseFd(int fd);  // close(2) that keeps errno and ignores EINTR

void InitSockets(Napi::Env env, Napi::Object exports);
void InitMessages(Napi::Env env, Napi::Object exports);
void InitFdIo(Napi::Env env, Napi::Object exports);
void InitMemory(Napi::Env env, Napi::Object exports);
void InitFdWatcher(Napi::Env env, Napi::Object exports);
void InitGuardedCopy(Napi::Env env, Napi::Object exports);
void InitExec(Napi::Env env, Napi::Object exports);

// True while [address, address + length) is a live mapping made by mmap() (memory.cc).
bool IsMapping(void* address, size_t length);

}  // namespace wayvio
