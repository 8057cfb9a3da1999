// memfd_create with seals, and mmap as an external ArrayBuffer that munmap detaches.
#include "util.h"

#include <fcntl.h>
#include <malloc.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <mutex>
#include <unordered_map>

namespace wayvio {

namespace {

// One per mmap call. Owned by the ArrayBuffer's finalizer, which frees it; `mapped` turns
// false when munmap() got there first, so the finalizer never unmaps twice.
struct Mapping {
  void* address;
  size_t length;
  bool mapped;
};

// Process-wide (worker threads may load the addon too), keyed by address while mapped.
std::mutex registry_lock;
std::unordered_map<void*, Mapping*> registry;
size_t mapped_bytes = 0;

void Unmap(Mapping* m) {  // caller holds registry_lock
  munmap(m->address, m->length);
  registry.erase(m->address);
  mapped_bytes -= m->length;
  m->mapped = false;
}

void FinalizeMapping(Napi::Env, void*, Mapping* m) {
  std::lock_guard<std::mutex> guard(registry_lock);
  if (m->mapped) Unmap(m);
  delete m;
}

Napi::Value MemfdCreate(const Napi::CallbackInfo& info) {
  std::string name;
  bool cloexec, allow_sealing;
  if (!ArgString(info, 0, "name", &name) || !ArgBool(info, 1, "cloexec", &cloexec) ||
      !ArgBool(info, 2, "allowSealing", &allow_sealing)) {
    return info.Env().Undefined();
  }
  int fd = memfd_create(name.c_str(), (cloexec ? MFD_CLOEXEC : 0) | (allow_sealing ? MFD_ALLOW_SEALING : 0));
  if (fd < 0) {
    ThrowErrno(info.Env(), errno, "memfd_create");
    return info.Env().Undefined();
  }
  return Napi::Number::New(info.Env(), fd);
}

Napi::Value AddSeals(const Napi::CallbackInfo& info) {
  int fd;
  uint32_t seals;
  if (!ArgFd(info, 0, &fd) || !ArgUint32(info, 1, "seals", &seals)) return info.Env().Undefined();
  if (fcntl(fd, F_ADD_SEALS, static_cast<int>(seals)) < 0) ThrowErrno(info.Env(), errno, "fcntl");
  return info.Env().Undefined();
}

Napi::Value GetSeals(const Napi::CallbackInfo& info) {
  int fd;
  if (!ArgFd(info, 0, &fd)) return info.Env().Undefined();
  int seals = fcntl(fd, F_GET_SEALS);
  if (seals < 0) {
    ThrowErrno(info.Env(), errno, "fcntl");
    return info.Env().Undefined();
  }
  return Napi::Number::New(info.Env(), seals);
}

// mmap(fd, length, offset, writable) -> ArrayBuffer over a MAP_SHARED mapping.
Napi::Value Mmap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  uint64_t length, offset;
  bool writable;
  if (!ArgFd(info, 0, &fd) || !ArgSize(info, 1, "length", &length) || !ArgSize(info, 2, "offset", &offset) ||
      !ArgBool(info, 3, "writable", &writable)) {
    return env.Undefined();
  }
  if (length == 0) {
    ThrowErrno(env, EINVAL, "mmap", "length is 0");
    return env.Undefined();
  }
  // Touching a page past the end of a file raises SIGBUS; refuse the obvious case up front.
  struct stat st;
  if (fstat(fd, &st) < 0) {
    ThrowErrno(env, errno, "fstat");
    return env.Undefined();
  }
  if (S_ISREG(st.st_mode) && offset + length > static_cast<uint64_t>(st.st_size)) {
    ThrowErrno(env, EINVAL, "mmap", "range extends past the end of the file");
    return env.Undefined();
  }
  void* address = mmap(nullptr, length, PROT_READ | (writable ? PROT_WRITE : 0), MAP_SHARED, fd,
                       static_cast<off_t>(offset));
  if (address == MAP_FAILED) {
    ThrowErrno(env, errno, "mmap");
    return env.Undefined();
  }
  Mapping* m = new Mapping{address, static_cast<size_t>(length), true};
  {
    std::lock_guard<std::mutex> guard(registry_lock);
    registry[address] = m;
    mapped_bytes += m->length;
  }
  napi_value buffer;
  napi_status status = napi_create_external_arraybuffer(
      env, address, m->length,
      [](napi_env e, void* data, void* hint) { FinalizeMapping(Napi::Env(e), data, static_cast<Mapping*>(hint)); },
      m, &buffer);
  if (status != napi_ok) {
    FinalizeMapping(env, address, m);
    // napi left an exception or a status; surface it as a plain error either way.
    if (!env.IsExceptionPending()) Napi::Error::New(env, "mmap: cannot create an ArrayBuffer").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Napi::Value(env, buffer);
}

// munmap(arrayBuffer) -> true if it unmapped, false if already unmapped/detached.
Napi::Value Munmap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsArrayBuffer()) {
    Napi::TypeError::New(env, "munmap takes an ArrayBuffer returned by mmap").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::ArrayBuffer buffer = info[0].As<Napi::ArrayBuffer>();
  if (buffer.IsDetached()) return Napi::Boolean::New(env, false);
  void* address = buffer.Data();
  {
    std::lock_guard<std::mutex> guard(registry_lock);
    auto it = registry.find(address);
    if (address == nullptr || it == registry.end() || it->second->length != buffer.ByteLength()) {
      ThrowErrno(env, EINVAL, "munmap", "not an ArrayBuffer returned by mmap");
      return env.Undefined();
    }
  }
  // Detach first: if that failed, JS could still reach the unmapped pages.
  if (napi_detach_arraybuffer(env, buffer) != napi_ok) {
    if (!env.IsExceptionPending()) ThrowErrno(env, EINVAL, "munmap", "the ArrayBuffer cannot be detached");
    return env.Undefined();
  }
  std::lock_guard<std::mutex> guard(registry_lock);
  auto it = registry.find(address);
  if (it != registry.end()) Unmap(it->second);
  return Napi::Boolean::New(env, true);
}

}  // namespace

bool IsMapping(void* address, size_t length) {
  std::lock_guard<std::mutex> guard(registry_lock);
  auto it = registry.find(address);
  return it != registry.end() && it->second->length == length;
}

namespace {

// glibc keeps freed heap memory mapped while live chunks sit above it; this hands free pages back.
Napi::Value MallocTrim(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), malloc_trim(0) != 0);
}

Napi::Value MappedBytes(const Napi::CallbackInfo& info) {
  std::lock_guard<std::mutex> guard(registry_lock);
  return Napi::Number::New(info.Env(), static_cast<double>(mapped_bytes));
}

}  // namespace

void InitMemory(Napi::Env env, Napi::Object exports) {
  exports.Set("memfdCreate", Napi::Function::New(env, MemfdCreate, "memfdCreate"));
  exports.Set("addSeals", Napi::Function::New(env, AddSeals, "addSeals"));
  exports.Set("getSeals", Napi::Function::New(env, GetSeals, "getSeals"));
  exports.Set("mmap", Napi::Function::New(env, Mmap, "mmap"));
  exports.Set("munmap", Napi::Function::New(env, Munmap, "munmap"));
  exports.Set("mappedBytes", Napi::Function::New(env, MappedBytes, "mappedBytes"));
  exports.Set("mallocTrim", Napi::Function::New(env, MallocTrim, "mallocTrim"));
  exports.Set("F_SEAL_SEAL", Napi::Number::New(env, F_SEAL_SEAL));
  exports.Set("F_SEAL_SHRINK", Napi::Number::New(env, F_SEAL_SHRINK));
  exports.Set("F_SEAL_GROW", Napi::Number::New(env, F_SEAL_GROW));
  exports.Set("F_SEAL_WRITE", Napi::Number::New(env, F_SEAL_WRITE));
  exports.Set("F_SEAL_FUTURE_WRITE", Napi::Number::New(env, F_SEAL_FUTURE_WRITE));
}

}  // namespace wayvio
