// Argument checks for the native wrapper and the Node-style error shape the addon throws.
import { getSystemErrorName } from 'node:util';

/** What the addon throws: `sendmsg EBADF`, code 'EBADF', errno -9, syscall 'sendmsg'. */
export interface NativeError extends Error {
  code: string;
  /** Negative errno; absent for codes that are not errnos (ECTRUNC). */
  errno?: number;
  syscall: string;
}

export function isNativeError(e: unknown): e is NativeError {
  return e instanceof Error && typeof (e as NativeError).code === 'string' && typeof (e as NativeError).syscall === 'string';
}

/** A Node-style error from a negative errno, for failures detected in TS. */
export function errnoError(errno: number, syscall: string, detail?: string): NativeError {
  const code = getSystemErrorName(errno);
  const error = new Error(`${syscall} ${code}${detail ? `: ${detail}` : ''}`) as NativeError;
  error.code = code;
  error.errno = errno;
  error.syscall = syscall;
  return error;
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return `Received ${value}`;
  if (typeof value === 'object' || typeof value === 'function') return `Received an instance of ${value.constructor?.name ?? 'Object'}`;
  return `Received type ${typeof value} (${String(value)})`;
}

export function invalidArgType(name: string, expected: string, value: unknown): TypeError {
  const error = new TypeError(`The "${name}" argument must be ${expected}. ${describe(value)}`);
  (error as NativeError).code = 'ERR_INVALID_ARG_TYPE';
  return error;
}

export function outOfRange(name: string, range: string, value: unknown): RangeError {
  const error = new RangeError(`The value of "${name}" is out of range. It must be ${range}. Received ${String(value)}`);
  (error as NativeError).code = 'ERR_OUT_OF_RANGE';
  return error;
}

export function checkInteger(value: unknown, name: string, min: number, max: number): asserts value is number {
  if (typeof value !== 'number') throw invalidArgType(name, 'of type number', value);
  if (!Number.isInteger(value) || value < min || value > max) throw outOfRange(name, `an integer >= ${min} and <= ${max}`, value);
}

export function checkFd(value: unknown, name = 'fd'): asserts value is number {
  checkInteger(value, name, 0, 0x7fffffff);
}

export function checkBoolean(value: unknown, name: string): asserts value is boolean {
  if (typeof value !== 'boolean') throw invalidArgType(name, 'of type boolean', value);
}

export function checkString(value: unknown, name: string): asserts value is string {
  if (typeof value !== 'string') throw invalidArgType(name, 'of type string', value);
}

export function checkBytes(buffer: unknown, offset: unknown, length: unknown): asserts buffer is Uint8Array {
  if (!(buffer instanceof Uint8Array)) throw invalidArgType('buffer', 'an instance of Uint8Array', buffer);
  checkInteger(offset, 'offset', 0, buffer.byteLength);
  checkInteger(length, 'length', 0, buffer.byteLength - offset);
}

export function checkFds(fds: unknown, max: number): asserts fds is readonly number[] {
  if (!Array.isArray(fds)) throw invalidArgType('fds', 'an array of fds', fds);
  if (fds.length > max) throw outOfRange('fds.length', `<= ${max}`, fds.length);
  for (const fd of fds) checkFd(fd, 'fds[]');
}
