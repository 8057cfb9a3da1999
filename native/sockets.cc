// Socket setup: socketpair, UNIX and AF_VSOCK listen/connect, accept, SO_ERROR.
#include "util.h"

#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <string>

namespace wayvio {

namespace {

constexpr int kStreamFlags = SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC;

bool SetNonBlock(int fd) {
  int flags = fcntl(fd, F_GETFL);
  return flags >= 0 && fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0;
}

// A leading NUL selects the abstract namespace; other paths must not contain NUL.
bool UnixAddress(Napi::Env env, const std::string& path, const char* syscall, sockaddr_un* addr,
                 socklen_t* len) {
  std::memset(addr, 0, sizeof *addr);
  addr->sun_family = AF_UNIX;
  bool abstract = !path.empty() && path[0] == '\0';
  if (path.empty() || (!abstract && path.find('\0') != std::string::npos)) {
    ThrowErrno(env, EINVAL, syscall, "bad socket path");
    return false;
  }
  if (path.size() + (abstract ? 0 : 1) > sizeof addr->sun_path) {
    ThrowErrno(env, ENAMETOOLONG, syscall, path.c_str());
    return false;
  }
  std::memcpy(addr->sun_path, path.data(), path.size());
  *len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + (abstract ? 0 : 1));
  return true;
}

// socket + bind + listen; closes the socket on any failure.
Napi::Value Listen(Napi::Env env, int domain, const sockaddr* addr, socklen_t len, int backlog) {
  int fd = socket(domain, kStreamFlags, 0);
  if (fd < 0) {
    ThrowErrno(env, errno, "socket");
    return env.Undefined();
  }
  const char* syscall = "bind";
  if (bind(fd, addr, len) == 0) {
    syscall = "listen";
    if (listen(fd, backlog) == 0) return Napi::Number::New(env, fd);
  }
  int err = errno;
  CloseFd(fd);
  ThrowErrno(env, err, syscall);
  return env.Undefined();
}

// Connects a cloexec socket; blocking unless `wait` is false (then EINPROGRESS is success).
Napi::Value Connect(Napi::Env env, int domain, const sockaddr* addr, socklen_t len, bool wait) {
  int fd = socket(domain, SOCK_STREAM | SOCK_CLOEXEC | (wait ? 0 : SOCK_NONBLOCK), 0);
  if (fd < 0) {
    ThrowErrno(env, errno, "socket");
    return env.Undefined();
  }
  int err = 0;
  int rc;
  // AF_UNIX and AF_VSOCK abandon a connect that a signal interrupts (vsock cancels the request and leaves
  // the socket unconnected, where poll() reports POLLOUT and SO_ERROR is 0): start it again.
  do {
    rc = connect(fd, addr, len);
  } while (rc < 0 && wait && errno == EINTR);
  if (rc < 0) {
    err = errno;
    if (!wait && err == EINPROGRESS) err = 0;
  }
  const char* syscall = "connect";
  if (err == 0 && wait && !SetNonBlock(fd)) {
    err = errno;
    syscall = "fcntl";
  }
  if (err != 0) {
    CloseFd(fd);
    ThrowErrno(env, err, syscall);
    return env.Undefined();
  }
  return Napi::Number::New(env, fd);
}

Napi::Value SocketPair(const Napi::CallbackInfo& info) {
  int fds[2];
  if (socketpair(AF_UNIX, kStreamFlags, 0, fds) < 0) {
    ThrowErrno(info.Env(), errno, "socketpair");
    return info.Env().Undefined();
  }
  Napi::Array out = Napi::Array::New(info.Env(), 2);
  out.Set(0u, fds[0]);
  out.Set(1u, fds[1]);
  return out;
}

Napi::Value UnixListen(const Napi::CallbackInfo& info) {
  std::string path;
  int32_t backlog;
  if (!ArgString(info, 0, "path", &path) || !ArgInt32(info, 1, "backlog", &backlog)) return info.Env().Undefined();
  sockaddr_un addr;
  socklen_t len;
  if (!UnixAddress(info.Env(), path, "bind", &addr, &len)) return info.Env().Undefined();
  return Listen(info.Env(), AF_UNIX, reinterpret_cast<sockaddr*>(&addr), len, backlog);
}

// shutdown(fd, SHUT_WR): the peer reads end of stream; this side can still read what the peer sends.
Napi::Value ShutdownWrite(const Napi::CallbackInfo& info) {
  int fd;
  if (!ArgFd(info, 0, &fd)) return info.Env().Undefined();
  if (shutdown(fd, SHUT_WR) < 0 && errno != ENOTCONN) ThrowErrno(info.Env(), errno, "shutdown");
  return info.Env().Undefined();
}

// SO_SNDBUF and SO_RCVBUF; the kernel caps them at net.core.[wr]mem_max. Returns the send size in effect.
Napi::Value SetSocketBuffers(const Napi::CallbackInfo& info) {
  int fd;
  uint32_t bytes;
  if (!ArgFd(info, 0, &fd) || !ArgUint32(info, 1, "bytes", &bytes)) return info.Env().Undefined();
  int value = static_cast<int>(bytes > INT32_MAX / 2 ? INT32_MAX / 2 : bytes);
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &value, sizeof value) < 0 ||
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &value, sizeof value) < 0) {
    ThrowErrno(info.Env(), errno, "setsockopt");
    return info.Env().Undefined();
  }
  int effective = 0;
  socklen_t len = sizeof effective;
  getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &effective, &len);
  return Napi::Number::New(info.Env(), effective);
}

Napi::Value UnixConnect(const Napi::CallbackInfo& info) {
  std::string path;
  if (!ArgString(info, 0, "path", &path)) return info.Env().Undefined();
  sockaddr_un addr;
  socklen_t len;
  if (!UnixAddress(info.Env(), path, "connect", &addr, &len)) return info.Env().Undefined();
  return Connect(info.Env(), AF_UNIX, reinterpret_cast<sockaddr*>(&addr), len, true);
}

sockaddr_vm VsockAddress(uint32_t cid, uint32_t port) {
  sockaddr_vm addr;
  std::memset(&addr, 0, sizeof addr);
  addr.svm_family = AF_VSOCK;
  addr.svm_cid = cid;
  addr.svm_port = port;
  return addr;
}

Napi::Value VsockListen(const Napi::CallbackInfo& info) {
  uint32_t port, cid;
  int32_t backlog;
  if (!ArgUint32(info, 0, "port", &port) || !ArgUint32(info, 1, "cid", &cid) ||
      !ArgInt32(info, 2, "backlog", &backlog)) {
    return info.Env().Undefined();
  }
  sockaddr_vm addr = VsockAddress(cid, port);
  return Listen(info.Env(), AF_VSOCK, reinterpret_cast<sockaddr*>(&addr), sizeof addr, backlog);
}

Napi::Value VsockConnect(const Napi::CallbackInfo& info) {
  uint32_t cid, port;
  bool wait;
  if (!ArgUint32(info, 0, "cid", &cid) || !ArgUint32(info, 1, "port", &port) || !ArgBool(info, 2, "wait", &wait)) {
    return info.Env().Undefined();
  }
  sockaddr_vm addr = VsockAddress(cid, port);
  return Connect(info.Env(), AF_VSOCK, reinterpret_cast<sockaddr*>(&addr), sizeof addr, wait);
}

Napi::Value Accept(const Napi::CallbackInfo& info) {
  int fd;
  if (!ArgFd(info, 0, &fd)) return info.Env().Undefined();
  int client;
  do {
    client = accept4(fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  } while (client < 0 && errno == EINTR);
  return ResultOrAgain(info.Env(), client, "accept");
}

// SO_ERROR after a nonblocking connect: 0 or a negative errno (like Node's errno field).
Napi::Value SocketError(const Napi::CallbackInfo& info) {
  int fd;
  if (!ArgFd(info, 0, &fd)) return info.Env().Undefined();
  int value = 0;
  socklen_t len = sizeof value;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &value, &len) < 0) {
    ThrowErrno(info.Env(), errno, "getsockopt");
    return info.Env().Undefined();
  }
  return Napi::Number::New(info.Env(), -value);
}

}  // namespace

void InitSockets(Napi::Env env, Napi::Object exports) {
  exports.Set("socketpair", Napi::Function::New(env, SocketPair, "socketpair"));
  exports.Set("unixListen", Napi::Function::New(env, UnixListen, "unixListen"));
  exports.Set("unixConnect", Napi::Function::New(env, UnixConnect, "unixConnect"));
  exports.Set("setSocketBuffers", Napi::Function::New(env, SetSocketBuffers, "setSocketBuffers"));
  exports.Set("shutdownWrite", Napi::Function::New(env, ShutdownWrite, "shutdownWrite"));
  exports.Set("vsockListen", Napi::Function::New(env, VsockListen, "vsockListen"));
  exports.Set("vsockConnect", Napi::Function::New(env, VsockConnect, "vsockConnect"));
  exports.Set("accept", Napi::Function::New(env, Accept, "accept"));
  exports.Set("socketError", Napi::Function::New(env, SocketError, "socketError"));
  exports.Set("VMADDR_CID_ANY", Napi::Number::New(env, VMADDR_CID_ANY));
  exports.Set("VMADDR_CID_HOST", Napi::Number::New(env, VMADDR_CID_HOST));
  exports.Set("VMADDR_CID_LOCAL", Napi::Number::New(env, 1));
}

}  // namespace wayvio
