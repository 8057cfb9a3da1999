// Plain fd syscalls: read/write for pipes and char devices, pipe2, flock, O_NONBLOCK, poll, dup, close.
#include "util.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/sendfile.h>
#include <unistd.h>

namespace wayvio {

namespace {

Napi::Value Read(const Napi::CallbackInfo& info) {
  int fd;
  uint8_t* data;
  size_t length;
  if (!ArgFd(info, 0, &fd) || !ArgBytes(info, 1, &data, &length)) return info.Env().Undefined();
  ssize_t n;
  do {
    n = read(fd, data, length);
  } while (n < 0 && errno == EINTR);
  return ResultOrAgain(info.Env(), n, "read");
}

Napi::Value Write(const Napi::CallbackInfo& info) {
  int fd;
  uint8_t* data;
  size_t length;
  if (!ArgFd(info, 0, &fd) || !ArgBytes(info, 1, &data, &length)) return info.Env().Undefined();
  ssize_t n;
  do {
    n = write(fd, data, length);
  } while (n < 0 && errno == EINTR);
  return ResultOrAgain(info.Env(), n, "write");
}

// sendfile(out, in, offset, count): the kernel copies file bytes straight into the socket or pipe.
// -> bytes sent, 0 when offset is at or past the end of the file, -1 on EAGAIN.
Napi::Value SendFile(const Napi::CallbackInfo& info) {
  int out_fd, in_fd;
  uint64_t offset, count;
  if (!ArgFd(info, 0, &out_fd) || !ArgFd(info, 1, &in_fd) || !ArgSize(info, 2, "offset", &offset) ||
      !ArgSize(info, 3, "count", &count)) {
    return info.Env().Undefined();
  }
  off_t at = static_cast<off_t>(offset);
  ssize_t n;
  do {
    n = sendfile(out_fd, in_fd, &at, static_cast<size_t>(count));
  } while (n < 0 && errno == EINTR);
  return ResultOrAgain(info.Env(), n, "sendfile");
}

Napi::Value Pipe2(const Napi::CallbackInfo& info) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0) {
    ThrowErrno(info.Env(), errno, "pipe2");
    return info.Env().Undefined();
  }
  Napi::Array out = Napi::Array::New(info.Env(), 2);
  out.Set(0u, fds[0]);
  out.Set(1u, fds[1]);
  return out;
}

// flock(fd, LOCK_SH|LOCK_EX|LOCK_UN, nonblocking) -> false when the lock is held elsewhere.
Napi::Value Flock(const Napi::CallbackInfo& info) {
  int fd;
  int32_t op;
  bool nonblocking;
  if (!ArgFd(info, 0, &fd) || !ArgInt32(info, 1, "operation", &op) || !ArgBool(info, 2, "nonblocking", &nonblocking)) {
    return info.Env().Undefined();
  }
  if (op != LOCK_SH && op != LOCK_EX && op != LOCK_UN) {
    ThrowErrno(info.Env(), EINVAL, "flock");
    return info.Env().Undefined();
  }
  int rc;
  do {
    rc = flock(fd, op | (nonblocking ? LOCK_NB : 0));
  } while (rc < 0 && errno == EINTR);
  if (rc == 0) return Napi::Boolean::New(info.Env(), true);
  if (errno == EWOULDBLOCK) return Napi::Boolean::New(info.Env(), false);
  ThrowErrno(info.Env(), errno, "flock");
  return info.Env().Undefined();
}

Napi::Value SetNonBlocking(const Napi::CallbackInfo& info) {
  int fd;
  bool on;
  if (!ArgFd(info, 0, &fd) || !ArgBool(info, 1, "on", &on)) return info.Env().Undefined();
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK) < 0) {
    ThrowErrno(info.Env(), errno, "fcntl");
  }
  return info.Env().Undefined();
}

// poll(fd, events, timeout 0) -> revents; tells POLLHUP apart, which uv_poll folds into readable/writable.
Napi::Value PollNow(const Napi::CallbackInfo& info) {
  int fd;
  int32_t events;
  if (!ArgFd(info, 0, &fd) || !ArgInt32(info, 1, "events", &events)) return info.Env().Undefined();
  pollfd p = {fd, static_cast<short>(events), 0};
  int rc;
  do {
    rc = poll(&p, 1, 0);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0) {
    ThrowErrno(info.Env(), errno, "poll");
    return info.Env().Undefined();
  }
  return Napi::Number::New(info.Env(), rc == 0 ? 0 : p.revents);
}

// dup with FD_CLOEXEC set on the copy.
Napi::Value Dup(const Napi::CallbackInfo& info) {
  int fd;
  if (!ArgFd(info, 0, &fd)) return info.Env().Undefined();
  int copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) {
    ThrowErrno(info.Env(), errno, "dup");
    return info.Env().Undefined();
  }
  return Napi::Number::New(info.Env(), copy);
}

Napi::Value Close(const Napi::CallbackInfo& info) {
  int fd;
  if (!ArgFd(info, 0, &fd)) return info.Env().Undefined();
  if (close(fd) < 0 && errno != EINTR) ThrowErrno(info.Env(), errno, "close");
  return info.Env().Undefined();
}

}  // namespace

void InitFdIo(Napi::Env env, Napi::Object exports) {
  exports.Set("read", Napi::Function::New(env, Read, "read"));
  exports.Set("write", Napi::Function::New(env, Write, "write"));
  exports.Set("sendfile", Napi::Function::New(env, SendFile, "sendfile"));
  exports.Set("pipe2", Napi::Function::New(env, Pipe2, "pipe2"));
  exports.Set("flock", Napi::Function::New(env, Flock, "flock"));
  exports.Set("setNonBlocking", Napi::Function::New(env, SetNonBlocking, "setNonBlocking"));
  exports.Set("pollNow", Napi::Function::New(env, PollNow, "pollNow"));
  exports.Set("dup", Napi::Function::New(env, Dup, "dup"));
  exports.Set("close", Napi::Function::New(env, Close, "close"));
  exports.Set("LOCK_SH", Napi::Number::New(env, LOCK_SH));
  exports.Set("LOCK_EX", Napi::Number::New(env, LOCK_EX));
  exports.Set("LOCK_UN", Napi::Number::New(env, LOCK_UN));
  Napi::Object poll_bits = Napi::Object::New(env);
  poll_bits.Set("POLLIN", POLLIN);
  poll_bits.Set("POLLPRI", POLLPRI);
  poll_bits.Set("POLLOUT", POLLOUT);
  poll_bits.Set("POLLERR", POLLERR);
  poll_bits.Set("POLLHUP", POLLHUP);
  poll_bits.Set("POLLNVAL", POLLNVAL);
  poll_bits.Set("POLLRDHUP", POLLRDHUP);
  exports.Set("poll", poll_bits);
}

}  // namespace wayvio
