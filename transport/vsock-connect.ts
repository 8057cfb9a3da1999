// vsockConnectAsync: an AF_VSOCK connect that waits on the event loop instead of blocking it.
import { FdWatcher, WRITABLE, closeAll, socketError, vsockConnectStart } from '../native/index';
import { errnoError } from '../native/errors';

/** Resolves with a connected nonblocking, cloexec fd (the caller owns it) or rejects with a Node-style error. */
export function vsockConnectAsync(cid: number, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let fd: number;
    let watcher: FdWatcher;
    try {
      fd = vsockConnectStart(cid, port);
    } catch (e) {
      reject(e);
      return;
    }
    try {
      watcher = new FdWatcher(fd, (status) => {
        watcher.close();
        let errno: number;
        try {
          // POLLERR comes as status EBADF from libuv; SO_ERROR names the real failure.
          errno = socketError(fd) || status;
        } catch (e) {
          closeAll([fd]);
          reject(e);
          return;
        }
        if (errno === 0) {
          resolve(fd);
        } else {
          closeAll([fd]);
          reject(errnoError(errno, 'connect'));
        }
      });
      watcher.start(WRITABLE);
    } catch (e) {
      closeAll([fd]);
      reject(e);
    }
  });
}
