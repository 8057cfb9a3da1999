// execve: replaces the process image (same pid), e.g. to restart node with V8 flags. stdin, stdout
// and stderr stay open in the new image.
#include "util.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace wayvio {

namespace {

bool ArgStrings(const Napi::CallbackInfo& info, size_t i, const char* name, std::vector<std::string>* out) {
  auto fail = [&]() {
    Napi::TypeError::New(info.Env(), std::string("The \"") + name + "\" argument must be an array of strings").ThrowAsJavaScriptException();
    return false;
  };
  if (!info[i].IsArray()) return fail();
  Napi::Array array = info[i].As<Napi::Array>();
  for (uint32_t k = 0; k < array.Length(); k++) {
    Napi::Value v = array.Get(k);
    if (!v.IsString()) return fail();
    std::string s = v.As<Napi::String>().Utf8Value();
    if (s.find('\0') != std::string::npos) {
      ThrowErrno(info.Env(), EINVAL, "execve", "an argument contains NUL");
      return false;
    }
    out->push_back(std::move(s));
  }
  return true;
}

std::vector<char*> Pointers(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  for (std::string& s : strings) pointers.push_back(s.data());
  pointers.push_back(nullptr);
  return pointers;
}

// execve(path, argv, env) -> only returns by throwing.
Napi::Value Execve(const Napi::CallbackInfo& info) {
  std::string path;
  std::vector<std::string> argv, env;
  if (!ArgString(info, 0, "path", &path) || !ArgStrings(info, 1, "argv", &argv) || !ArgStrings(info, 2, "env", &env)) {
    return info.Env().Undefined();
  }
  std::vector<char*> argv_pointers = Pointers(argv);
  std::vector<char*> env_pointers = Pointers(env);
  // node marks its stdio close-on-exec; the new image needs them
  int stdio_flags[3];
  for (int fd = 0; fd < 3; fd++) {
    stdio_flags[fd] = fcntl(fd, F_GETFD);
    if (stdio_flags[fd] >= 0) fcntl(fd, F_SETFD, stdio_flags[fd] & ~FD_CLOEXEC);
  }
  // a profiling node (--cpu-prof) gets SIGPROF from a sampler thread, which would kill the new image
  // before it installs a handler: ignoring it drops the pending ones and those sent until the exec
  struct sigaction ignore = {}, previous_prof;
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGPROF, &ignore, &previous_prof);
  execve(path.c_str(), argv_pointers.data(), env_pointers.data());
  int err = errno;
  sigaction(SIGPROF, &previous_prof, nullptr);
  for (int fd = 0; fd < 3; fd++) {
    if (stdio_flags[fd] >= 0) fcntl(fd, F_SETFD, stdio_flags[fd]);
  }
  ThrowErrno(info.Env(), err, "execve", path.c_str());
  return info.Env().Undefined();
}

}  // namespace

void InitExec(Napi::Env env, Napi::Object exports) {
  exports.Set("execve", Napi::Function::New(env, Execve, "execve"));
}

}  // namespace wayvio
