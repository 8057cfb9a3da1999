// sendmsg/recvmsg on nonblocking stream sockets, with fds passed as SCM_RIGHTS.
#include "util.h"

#include <sys/socket.h>

#include <cmath>
#include <cstring>
#include <string>

namespace wayvio {

namespace {

constexpr int kMaxSendFds = 28;    // what libwayland sends per sendmsg
constexpr int kMaxRecvFds = 253;   // SCM_MAX_FD: the kernel never sends more in one message

Napi::Value SendMsg(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  uint8_t* data;
  size_t length;
  if (!ArgFd(info, 0, &fd) || !ArgBytes(info, 1, &data, &length)) return env.Undefined();
  if (!info[4].IsArray()) {
    Napi::TypeError::New(env, "fds must be an array").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Array list = info[4].As<Napi::Array>();
  uint32_t count = list.Length();
  if (count > kMaxSendFds || (count > 0 && length == 0)) {
    Napi::RangeError::New(env, "at most 28 fds, and only with at least one byte").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int fds[kMaxSendFds];
  for (uint32_t i = 0; i < count; i++) {
    Napi::Value v = list[i];
    double n = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
    if (!(n >= 0 && n <= INT32_MAX) || std::trunc(n) != n) {
      Napi::TypeError::New(env, "fds must be non-negative integers").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    fds[i] = static_cast<int>(n);
  }

  iovec iov = {data, length};
  msghdr msg;
  std::memset(&msg, 0, sizeof msg);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxSendFds)];
  if (count > 0) {
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * count);
    cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int) * count);
    std::memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * count);
  }
  ssize_t n;
  do {
    n = sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  return ResultOrAgain(env, n, "sendmsg");
}

// recvmsg(fd, buffer, offset, length, fdsOut: Int32Array(254)) -> bytes, or -1 on EAGAIN.
// fdsOut[0] is set to the number of fds received, fdsOut[1..] to the fds.
Napi::Value RecvMsg(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  uint8_t* data;
  size_t length;
  if (!ArgFd(info, 0, &fd) || !ArgBytes(info, 1, &data, &length)) return env.Undefined();
  if (!info[4].IsTypedArray() || info[4].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array ||
      info[4].As<Napi::Int32Array>().ElementLength() < kMaxRecvFds + 1) {
    Napi::TypeError::New(env, "fdsOut must be an Int32Array of at least 254 elements").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int32_t* out = info[4].As<Napi::Int32Array>().Data();
  out[0] = 0;

  iovec iov = {data, length};
  msghdr msg;
  std::memset(&msg, 0, sizeof msg);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxRecvFds)];
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  do {
    n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return ResultOrAgain(env, n, "recvmsg");

  int count = 0;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t n_fds = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < n_fds && count < kMaxRecvFds; i++) {
      std::memcpy(&out[1 + count++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
    }
  }
  if (msg.msg_flags & MSG_CTRUNC) {
    for (int i = 0; i < count; i++) CloseFd(out[1 + i]);
    out[0] = 0;
    std::string message = "recvmsg ECTRUNC: control data truncated, closed " + std::to_string(count) +
                          " received fds (is the fd limit reached?)";
    ThrowCode(env, "ECTRUNC", "recvmsg", message.c_str());
    return env.Undefined();
  }
  out[0] = count;
  return Napi::Number::New(env, static_cast<double>(n));
}

}  // namespace

void InitMessages(Napi::Env env, Napi::Object exports) {
  exports.Set("sendmsg", Napi::Function::New(env, SendMsg, "sendmsg"));
  exports.Set("recvmsg", Napi::Function::New(env, RecvMsg, "recvmsg"));
  exports.Set("MAX_FDS_PER_SENDMSG", Napi::Number::New(env, kMaxSendFds));
  exports.Set("MAX_FDS_PER_RECVMSG", Napi::Number::New(env, kMaxRecvFds));
}

}  // namespace wayvio
