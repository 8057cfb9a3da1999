// preadSplit: one large pread done by this thread and a helper thread together, each copying half.
// The only place the addon uses a second thread: a copy of megabytes is bound by one core's
// memory bandwidth, and the client waits for it.
#include "util.h"

#include <pthread.h>
#include <unistd.h>

namespace wayvio {

namespace {

// Bytes read into data from offset, or -errno. Stops short only at end of file.
ssize_t PreadFully(int fd, uint8_t* data, size_t length, off_t offset) {
  size_t done = 0;
  while (done < length) {
    ssize_t n = pread(fd, data + done, length - done, offset + static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -errno;
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return static_cast<ssize_t>(done);
}

struct Half {
  int fd;
  uint8_t* data;
  size_t length;
  off_t offset;
  ssize_t result;
};

void* ReadHalf(void* arg) {
  Half* h = static_cast<Half*>(arg);
  h->result = PreadFully(h->fd, h->data, h->length, h->offset);
  return nullptr;
}

// Below this the second thread costs more than it saves.
constexpr size_t kSplitBytes = 1 << 20;

// preadSplit(fd, buffer, bufferOffset, length, fileOffset) -> bytes read (short only at end of file).
Napi::Value PreadSplit(const Napi::CallbackInfo& info) {
  int fd;
  uint8_t* data;
  size_t length;
  uint64_t offset;
  if (!ArgFd(info, 0, &fd) || !ArgBytes(info, 1, &data, &length) || !ArgSize(info, 4, "position", &offset)) {
    return info.Env().Undefined();
  }
  off_t at = static_cast<off_t>(offset);
  if (length < kSplitBytes) {
    ssize_t n = PreadFully(fd, data, length, at);
    if (n < 0) {
      ThrowErrno(info.Env(), static_cast<int>(-n), "pread");
      return info.Env().Undefined();
    }
    return Napi::Number::New(info.Env(), static_cast<double>(n));
  }
  size_t first = (length / 2) & ~static_cast<size_t>(4095);
  Half second = {fd, data + first, length - first, at + static_cast<off_t>(first), 0};
  pthread_t helper;
  bool threaded = pthread_create(&helper, nullptr, ReadHalf, &second) == 0;
  ssize_t first_result = PreadFully(fd, data, first, at);
  if (threaded) {
    pthread_join(helper, nullptr);
  } else {
    ReadHalf(&second);  // no thread to be had: the same copy, one after the other
  }
  ssize_t second_result = second.result;
  int err = first_result < 0 ? static_cast<int>(-first_result) : second_result < 0 ? static_cast<int>(-second_result) : 0;
  if (err != 0) {
    ThrowErrno(info.Env(), err, "pread");
    return info.Env().Undefined();
  }
  size_t total = static_cast<size_t>(first_result) < first ? static_cast<size_t>(first_result) : first + static_cast<size_t>(second_result);
  return Napi::Number::New(info.Env(), static_cast<double>(total));
}

}  // namespace

void InitSplitPread(Napi::Env env, Napi::Object exports) {
  exports.Set("preadSplit", Napi::Function::New(env, PreadSplit, "preadSplit"));
}

}  // namespace wayvio
