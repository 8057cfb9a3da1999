// The addon's functions that only tests use (sockets pairs, blocking vsock connects, seals, mapping counts): kept out of index.ts.
import { native } from './addon';
import { checkBoolean, checkFd, checkInteger } from './errors';

const UINT32_MAX = 0xffffffff;

export const DISCONNECT = native.UV_DISCONNECT;
export const VMADDR_CID_HOST = native.VMADDR_CID_HOST;

/** AF_UNIX SOCK_STREAM pair, both nonblocking and cloexec. */
export function socketpair(): [number, number] {
  return native.socketpair();
}

/**
 * Blocking AF_VSOCK connect, then nonblocking. The kernel may wait up to its connect timeout
 * (2 s by default) for an unanswered peer; vsockConnectAsync() (vsock-connect.ts) does not block.
 */
export function vsockConnect(cid: number, port: number): number {
  checkInteger(cid, 'cid', 0, UINT32_MAX);
  checkInteger(port, 'port', 0, UINT32_MAX);
  return native.vsockConnect(cid, port, true);
}

export function setNonBlocking(fd: number, on: boolean): void {
  checkFd(fd);
  checkBoolean(on, 'on');
  native.setNonBlocking(fd, on);
}

export function getSeals(fd: number): number {
  checkFd(fd);
  return native.getSeals(fd);
}

/** Bytes currently mapped by mmap() in this process. */
export function mappedBytes(): number {
  return native.mappedBytes();
}
