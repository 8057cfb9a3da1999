// Memfds that carry their own index, to check which fd arrived where; and whether an fd is still open.
import { fstatSync, readSync, writeSync } from 'node:fs';
import { memfdCreate, type NativeError } from '../../native/index';

export function indexedMemfd(i: number): number {
  const fd = memfdCreate(`wayvio-test-${i}`);
  writeSync(fd, String(i));
  return fd;
}

export function memfdIndex(fd: number): number {
  const buf = Buffer.alloc(16);
  return Number(buf.toString('utf8', 0, readSync(fd, buf, 0, buf.length, 0)));
}

export function isOpen(fd: number): boolean {
  try {
    fstatSync(fd);
    return true;
  } catch (e) {
    return (e as NativeError).code !== 'EBADF';
  }
}
