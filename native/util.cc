// Node-style errors and argument readers shared by the addon's functions.
#include "util.h"

#include <uv.h>

#include <unistd.h>

#include <cmath>
#include <string>

namespace wayvio {

namespace {

void ThrowWith(Napi::Env env, const std::string& code, const char* syscall, const std::string& message,
               bool has_errno, int errno_value) {
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, code));
  if (has_errno) error.Set("errno", Napi::Number::New(env, errno_value));
  error.Set("syscall", Napi::String::New(env, syscall));
  error.ThrowAsJavaScriptException();
}

bool Fail(const Napi::CallbackInfo& info, bool range, const char* name, const char* what) {
  std::string message = std::string("The \"") + name + "\" argument must be " + what;
  if (range) {
    Napi::RangeError error = Napi::RangeError::New(info.Env(), message);
    error.Set("code", Napi::String::New(info.Env(), "ERR_OUT_OF_RANGE"));
    error.ThrowAsJavaScriptException();
  } else {
    Napi::TypeError error = Napi::TypeError::New(info.Env(), message);
    error.Set("code", Napi::String::New(info.Env(), "ERR_INVALID_ARG_TYPE"));
    error.ThrowAsJavaScriptException();
  }
  return false;
}

bool ArgInteger(const Napi::CallbackInfo& info, size_t i, const char* name, double min, double max,
                double* out) {
  if (!info[i].IsNumber()) return Fail(info, false, name, "a number");
  double v = info[i].As<Napi::Number>().DoubleValue();
  if (!std::isfinite(v) || std::trunc(v) != v) return Fail(info, true, name, "an integer");
  if (v < min || v > max) return Fail(info, true, name, "in range");
  *out = v;
  return true;
}

}  // namespace

void ThrowErrno(Napi::Env env, int err, const char* syscall, const char* detail) {
  char name[64];
  uv_err_name_r(uv_translate_sys_error(err), name, sizeof name);
  std::string message = std::string(syscall) + " " + name;
  if (detail != nullptr) message += std::string(": ") + detail;
  ThrowWith(env, name, syscall, message, true, -err);
}

Napi::Value ResultOrAgain(Napi::Env env, ssize_t n, const char* syscall) {
  if (n >= 0) return Napi::Number::New(env, static_cast<double>(n));
  if (errno == EAGAIN || errno == EWOULDBLOCK) return Napi::Number::New(env, -1);
  ThrowErrno(env, errno, syscall);
  return env.Undefined();
}

void ThrowUv(Napi::Env env, int status, const char* syscall) {
  char name[64];
  uv_err_name_r(status, name, sizeof name);
  ThrowWith(env, name, syscall, std::string(syscall) + " " + name, true, status);
}

void ThrowCode(Napi::Env env, const char* code, const char* syscall, const char* message) {
  ThrowWith(env, code, syscall, message, false, 0);
}

bool ArgInt32(const Napi::CallbackInfo& info, size_t i, const char* name, int32_t* out) {
  double v;
  if (!ArgInteger(info, i, name, INT32_MIN, INT32_MAX, &v)) return false;
  *out = static_cast<int32_t>(v);
  return true;
}

bool ArgFd(const Napi::CallbackInfo& info, size_t i, int* out) {
  double v;
  if (!ArgInteger(info, i, "fd", 0, INT32_MAX, &v)) return false;
  *out = static_cast<int>(v);
  return true;
}

bool ArgUint32(const Napi::CallbackInfo& info, size_t i, const char* name, uint32_t* out) {
  double v;
  if (!ArgInteger(info, i, name, 0, UINT32_MAX, &v)) return false;
  *out = static_cast<uint32_t>(v);
  return true;
}

bool ArgSize(const Napi::CallbackInfo& info, size_t i, const char* name, uint64_t* out) {
  double v;
  if (!ArgInteger(info, i, name, 0, 9007199254740991.0, &v)) return false;
  *out = static_cast<uint64_t>(v);
  return true;
}

bool ArgBool(const Napi::CallbackInfo& info, size_t i, const char* name, bool* out) {
  if (!info[i].IsBoolean()) return Fail(info, false, name, "a boolean");
  *out = info[i].As<Napi::Boolean>().Value();
  return true;
}

bool ArgString(const Napi::CallbackInfo& info, size_t i, const char* name, std::string* out) {
  if (!info[i].IsString()) return Fail(info, false, name, "a string");
  *out = info[i].As<Napi::String>().Utf8Value();
  return true;
}

bool ArgBytes(const Napi::CallbackInfo& info, size_t i, uint8_t** data, size_t* length) {
  if (!info[i].IsTypedArray() || info[i].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    return Fail(info, false, "buffer", "a Uint8Array");
  }
  Napi::Uint8Array array = info[i].As<Napi::Uint8Array>();
  uint64_t offset, count;
  if (!ArgSize(info, i + 1, "offset", &offset) || !ArgSize(info, i + 2, "length", &count)) return false;
  size_t size = array.ByteLength();
  if (offset > size || count > size - offset) return Fail(info, true, "length", "inside the buffer");
  *data = array.Data() + offset;
  *length = static_cast<size_t>(count);
  return true;
}

void CloseFd(int fd) {
  int saved = errno;
  close(fd);  // on Linux the fd is gone even when close reports EINTR
  errno = saved;
}

}  // namespace wayvio
