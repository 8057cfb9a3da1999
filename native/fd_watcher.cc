// FdWatcher: fd readiness through a libuv uv_poll_t, for sockets, pipes and char devices.
#include "util.h"

#include <uv.h>

namespace wayvio {

namespace {

// new FdWatcher(fd, callback(status, events)). The uv_poll_t exists only while started: a
// stopped watcher holds nothing, so neither GC nor a late close() can touch the epoll entry of
// an fd number that was closed and reused meanwhile. A started watcher keeps the loop and
// itself alive. The fd is never closed here — stop or close the watcher before closing the fd.
class FdWatcher : public Napi::ObjectWrap<FdWatcher> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "FdWatcher",
                       {InstanceMethod("start", &FdWatcher::Start), InstanceMethod("stop", &FdWatcher::Stop),
                        InstanceMethod("close", &FdWatcher::Close),
                        InstanceAccessor("active", &FdWatcher::Active, nullptr),
                        InstanceAccessor("closed", &FdWatcher::Closed, nullptr)});
  }

  explicit FdWatcher(const Napi::CallbackInfo& info) : Napi::ObjectWrap<FdWatcher>(info) {
    Napi::Env env = info.Env();
    if (!ArgFd(info, 0, &fd_)) return;
    if (!info[1].IsFunction()) {
      Napi::TypeError error = Napi::TypeError::New(env, "The \"callback\" argument must be a function");
      error.Set("code", Napi::String::New(env, "ERR_INVALID_ARG_TYPE"));
      error.ThrowAsJavaScriptException();
      return;
    }
    if (napi_get_uv_event_loop(env, &loop_) != napi_ok) {
      Napi::Error::New(env, "no libuv loop").ThrowAsJavaScriptException();
      return;
    }
    // Fail here rather than at start() on fds that cannot be polled (regular files: EPERM).
    if (!OpenHandle(env)) return;
    CloseHandle();
    // The callback lives on the JS object so that a closure over the watcher is no GC root.
    info.This().As<Napi::Object>().DefineProperty(
        Napi::PropertyDescriptor::Value("callback", info[1], napi_default));
    // read-only and held by the object: a weak reference finds it without a property lookup per event
    callback_ = Napi::Weak(info[1].As<Napi::Function>());
    napi_value name = Napi::String::New(env, "wayvio.FdWatcher");
    if (napi_async_init(env, info.This(), name, &async_) != napi_ok) async_ = nullptr;
  }

  ~FdWatcher() override {
    CloseHandle();
    if (async_ != nullptr) napi_async_destroy(Env(), async_);
  }

 private:
  Napi::Value Start(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    int32_t events;
    if (!ArgInt32(info, 0, "events", &events)) return env.Undefined();
    if (events & ~(UV_READABLE | UV_WRITABLE | UV_DISCONNECT | UV_PRIORITIZED)) {
      Napi::RangeError::New(env, "events must be READABLE|WRITABLE|DISCONNECT|PRIORITIZED").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (closed_) {
      ThrowCode(env, "ERR_WATCHER_CLOSED", "uv_poll_start", "FdWatcher is closed");
      return env.Undefined();
    }
    if (events == 0) {
      Deactivate();
      return env.Undefined();
    }
    if (handle_ == nullptr && !OpenHandle(env)) return env.Undefined();
    int rc = uv_poll_start(handle_, events, OnPoll);
    if (rc < 0) {
      Deactivate();
      ThrowUv(env, rc, "uv_poll_start");
      return env.Undefined();
    }
    if (!active_) {
      active_ = true;
      Ref();
    }
    return env.Undefined();
  }

  Napi::Value Stop(const Napi::CallbackInfo& info) {
    Deactivate();
    return info.Env().Undefined();
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Deactivate();
    closed_ = true;
    return info.Env().Undefined();
  }

  Napi::Value Active(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), active_); }
  Napi::Value Closed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), closed_); }

  bool OpenHandle(Napi::Env env) {
    uv_poll_t* handle = new uv_poll_t;
    int rc = uv_poll_init(loop_, handle, fd_);  // note: also sets O_NONBLOCK on the fd
    if (rc < 0) {
      delete handle;  // a failed init registers nothing with the loop
      ThrowUv(env, rc, "uv_poll_init");
      return false;
    }
    handle->data = this;
    handle_ = handle;
    return true;
  }

  void CloseHandle() {
    if (handle_ == nullptr) return;
    handle_->data = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(handle_), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
    handle_ = nullptr;
  }

  void Deactivate() {
    CloseHandle();
    if (active_) {
      active_ = false;
      Unref();
    }
  }

  static void OnPoll(uv_poll_t* handle, int status, int events) {
    FdWatcher* self = static_cast<FdWatcher*>(handle->data);
    if (self == nullptr) return;
    napi_env env = self->Env();
    Napi::HandleScope scope(self->Env());
    Napi::Object object = self->Value();  // keeps `self` alive even if the callback drops it
    if (status < 0) self->Deactivate();   // libuv already stopped the handle (POLLERR)
    if (object.IsEmpty()) return;
    Napi::Function callback = self->callback_.Value();
    if (callback.IsEmpty()) return;
    napi_value argv[2] = {Napi::Number::New(env, status), Napi::Number::New(env, events)};
    napi_value result;
    napi_status rc = napi_make_callback(env, self->async_, object, callback, 2, argv, &result);
    if (rc == napi_pending_exception) {
      napi_value error;
      if (napi_get_and_clear_last_exception(env, &error) == napi_ok) napi_fatal_exception(env, error);
    }
  }

  uv_loop_t* loop_ = nullptr;
  uv_poll_t* handle_ = nullptr;
  napi_async_context async_ = nullptr;
  Napi::FunctionReference callback_;
  int fd_ = -1;
  bool active_ = false;
  bool closed_ = false;
};

}  // namespace

void InitFdWatcher(Napi::Env env, Napi::Object exports) {
  exports.Set("FdWatcher", FdWatcher::Define(env));
  exports.Set("UV_READABLE", Napi::Number::New(env, UV_READABLE));
  exports.Set("UV_WRITABLE", Napi::Number::New(env, UV_WRITABLE));
  exports.Set("UV_DISCONNECT", Napi::Number::New(env, UV_DISCONNECT));
  exports.Set("UV_PRIORITIZED", Napi::Number::New(env, UV_PRIORITIZED));
}

}  // namespace wayvio
