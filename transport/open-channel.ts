// Opens channels from a SPEC: connects (and reconnects) or listens, and hands each stream to the caller.
import { closeSync, constants, lstatSync, openSync, unlinkSync } from 'node:fs';
import { createConnection, createServer, type NetConnectOpts, type Server } from 'node:net';
import { FdListener } from './fd-listener';
import { FdSocket } from './fd-socket';
import { FdStream } from './fd-stream';
import { POLL, closeAll, pollNow, unixConnect } from '../native/index';
import { vsockConnectAsync } from './vsock-connect';
import type { ByteStream } from './byte-stream';
import { describeSpec, type ChannelSpec } from './channel-spec';
import { FdByteStream } from './fd-byte-stream';
import { SocketStream } from './socket-stream';
import { WsStream } from './ws-stream';

/** ws, loaded for the first WebSocket channel: a proxy on another transport never needs it. */
function wsLibrary(): typeof import('ws') {
  return require('ws') as typeof import('ws');
}

export interface ChannelOpener {
  close(): void;
}

export interface OpenOptions {
  /** Called with every new stream. */
  onStream: (stream: ByteStream) => void;
  /** Notable events, one line each. */
  onEvent: (msg: string) => void;
  /**
   * A listening channel cannot listen (address in use, no permission): nothing will ever connect. Listen
   * failures found at once are thrown by openChannels() instead. Without onError the message goes to onEvent.
   */
  onError?: (err: Error) => void;
  /** For connecting specs: connect again after a failure or close. Default true. */
  reconnect?: boolean;
  /** First retry delay; doubles up to 5 s. */
  retryMs?: number;
}

const MAX_RETRY_MS = 5000;
/** Node's 16 KiB default made the channel pump stop after every large frame; fairness between clients is the session's job. */
const SOCKET_HIGH_WATER = 1024 * 1024;
/** A channel carries bytes only: fds a peer attaches are dropped by the kernel, never installed here. */
const NO_FDS = { receiveFds: false };
/**
 * Native channel sockets: a peer that is told goodbye can still send its own last frames. With
 * the kernel's default 208 KiB send buffer a 1080p frame took about 40 wake-ups of each proxy;
 * 1 MiB (the kernel doubles it, and caps it at net.core.wmem_max) took full-1080p from 145 to
 * 260 frames/s and halved both proxies' CPU (the fourth run in docs/benchmarks.md's git history).
 */
const CHANNEL_SOCKET = { highWaterMark: SOCKET_HIGH_WATER, halfClose: true, bufferBytes: 1024 * 1024, ...NO_FDS };
/** While a virtio port has no host end, poll reports POLLHUP and there is no event for its end. */
const CHARDEV_WAIT_MS = 200;

function aborted(name: string): Error {
  return Object.assign(new Error(`${name}: connecting was cancelled`), { code: 'ABORT_ERR' });
}

/**
 * Connects once; resolves with a stream or rejects with the failure. Aborting `signal` cancels a pending
 * attempt (it rejects and closes whatever it had opened). `onWaiting` hears once that a character device is
 * open but has no other end yet.
 */
export function connectOnce(spec: ChannelSpec, signal?: AbortSignal, onWaiting?: () => void): Promise<ByteStream> {
  const name = describeSpec(spec);
  if (signal?.aborted) return Promise.reject(aborted(name));
  switch (spec.kind) {
    case 'unix':
      // native, not net.Socket: reads can land in a given buffer and file bytes can be sent with sendfile
      return new Promise((resolve) => {
        let fd: number;
        try {
          fd = unixConnect(spec.path);
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          throw Object.assign(new Error(`connect ${code} ${spec.path}`), { code });
        }
        resolve(new FdByteStream(new FdSocket(fd, CHANNEL_SOCKET), name));
      });
    case 'tcp':
      return new Promise((resolve, reject) => {
        const where: NetConnectOpts = { port: spec.port, host: spec.host };
        // highWaterMark reaches the socket's Duplex options (Node's types do not list it for connect)
        const s = createConnection(Object.assign(where, { highWaterMark: SOCKET_HIGH_WATER }));
        const onAbort = (): void => {
          s.destroy();
          reject(aborted(name));
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        s.once('error', (e) => {
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        });
        s.once('connect', () => {
          signal?.removeEventListener('abort', onAbort);
          s.removeAllListeners('error');
          resolve(new SocketStream(s, name));
        });
      });
    case 'ws':
      return new Promise((resolve, reject) => {
        const ws = new (wsLibrary().WebSocket)(spec.url, { perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 });
        const onAbort = (): void => {
          ws.terminate();
          reject(aborted(name));
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        const onError = (e: Error): void => {
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        };
        ws.once('error', onError);
        ws.once('open', () => {
          signal?.removeEventListener('abort', onAbort);
          ws.off('error', onError);
          // constructed here, synchronously: it pauses the socket before the first message can be emitted
          resolve(new WsStream(ws, name));
        });
      });
    case 'vsock':
      // nonblocking: a blocking AF_VSOCK connect stalls the event loop up to the kernel's 2 s connect timeout
      return vsockConnectAsync(spec.cid, spec.port).then((fd) => {
        if (signal?.aborted) {
          closeAll([fd]);
          throw aborted(name);
        }
        return new FdByteStream(new FdStream(fd), name);
      });
    case 'virtio':
    case 'file':
      return openCharDevice(spec.path, name, signal, onWaiting);
    default:
      return Promise.reject(new Error(`${name} is a listening channel, not one to connect to`));
  }
}

/** Opens a character device (virtio-serial port) and waits until the other end is there. */
function openCharDevice(path: string, name: string, signal?: AbortSignal, onWaiting?: () => void): Promise<ByteStream> {
  return new Promise((resolve, reject) => {
    let fd: number;
    try {
      fd = openSync(path, constants.O_RDWR | constants.O_NONBLOCK | constants.O_NOCTTY);
    } catch (e) {
      reject(e);
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    const onAbort = (): void => {
      clearTimeout(timer);
      closeSync(fd);
      reject(aborted(name));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    let waiting = false;
    const check = (): void => {
      let revents: number;
      try {
        revents = pollNow(fd, POLL.POLLOUT);
      } catch (e) {
        signal?.removeEventListener('abort', onAbort);
        closeSync(fd);
        reject(e);
        return;
      }
      if ((revents & POLL.POLLOUT) !== 0 && (revents & POLL.POLLHUP) === 0) {
        signal?.removeEventListener('abort', onAbort);
        resolve(new FdByteStream(new FdStream(fd), name));
        return;
      }
      if (!waiting) {
        waiting = true;
        onWaiting?.();
      }
      timer = setTimeout(check, CHARDEV_WAIT_MS);
    };
    check();
  });
}

/** Connects, and connects again whenever the stream fails or closes, until close(). */
function keepConnected(spec: ChannelSpec, options: OpenOptions): ChannelOpener {
  const name = describeSpec(spec);
  const firstDelay = options.retryMs ?? 250;
  const abort = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let current: ByteStream | null = null;
  let delay = firstDelay;
  let lastError = '';
  const retry = (): void => {
    if (abort.signal.aborted || options.reconnect === false) return;
    timer = setTimeout(attempt, delay);
    delay = Math.min(delay * 2, MAX_RETRY_MS);
  };
  const attempt = (): void => {
    const onWaiting = (): void => options.onEvent(`channel ${name}: no other end yet; waiting`);
    connectOnce(spec, abort.signal, onWaiting).then((stream) => {
      if (abort.signal.aborted) {
        stream.destroy();
        return;
      }
      const since = Date.now();
      lastError = '';
      current = stream;
      options.onEvent(`channel ${name} connected`);
      stream.once('close', () => {
        current = null;
        // a channel that was up for a while reconnects at once; one that keeps dropping backs off
        if (Date.now() - since >= MAX_RETRY_MS) delay = firstDelay;
        retry();
      });
      options.onStream(stream);
    }, (err: Error) => {
      if (abort.signal.aborted) return;
      if (err.message !== lastError) options.onEvent(`channel ${name}: ${err.message}; ${options.reconnect === false ? 'giving up' : 'retrying'}`);
      lastError = err.message;
      retry();
    });
  };
  attempt();
  return {
    close() {
      abort.abort();
      clearTimeout(timer);
      current?.destroy();
    },
  };
}

/**
 * Clears the way for a UNIX listening socket: a socket nobody answers on is stale and removed; a live one,
 * or anything that is not a socket, is left alone and the listen fails with a clear message.
 */
function removeStaleSocket(path: string, name: string): void {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch {
    return; // nothing there
  }
  if (!isSocket) throw new Error(`channel ${name}: ${path} exists and is not a socket; remove it or choose another path`);
  let fd: number;
  try {
    fd = unixConnect(path);
  } catch {
    unlinkSync(path); // ECONNREFUSED: the process that listened there is gone
    return;
  }
  closeAll([fd]);
  throw Object.assign(new Error(`channel ${name}: a live process listens on ${path}`), { code: 'EADDRINUSE' });
}

function listenFailed(name: string, options: OpenOptions, e: Error): void {
  const err = Object.assign(new Error(`channel ${name}: cannot listen: ${e.message}`), { code: (e as NodeJS.ErrnoException).code });
  if (options.onError !== undefined) options.onError(err);
  else options.onEvent(err.message);
}

/** Listens; every accepted connection is a stream. Throws (synchronously or via onEvent) when it cannot listen. */
function listen(spec: ChannelSpec, options: OpenOptions): ChannelOpener {
  const name = describeSpec(spec);
  switch (spec.kind) {
    case 'unix-listen': {
      removeStaleSocket(spec.path, name);
      let l: FdListener;
      try {
        l = FdListener.unix(spec.path, undefined, CHANNEL_SOCKET);
      } catch (e) {
        throw Object.assign(new Error(`channel ${name}: cannot listen: ${(e as Error).message}`), { code: (e as NodeJS.ErrnoException).code });
      }
      l.on('connection', (s) => options.onStream(new FdByteStream(s, `${name} peer`)));
      l.on('error', (e: Error) => options.onEvent(`channel ${name}: ${e.message}`));
      return {
        close: () => {
          l.close();
          try {
            unlinkSync(spec.path);
          } catch {
            // already gone
          }
        },
      };
    }
    case 'tcp-listen': {
      const server: Server = createServer({ highWaterMark: SOCKET_HIGH_WATER }, (s) => options.onStream(new SocketStream(s, `${name} peer`)));
      let listening = false;
      server.once('listening', () => {
        listening = true;
      });
      server.on('error', (e) => (listening ? options.onEvent(`channel ${name}: ${e.message}`) : listenFailed(name, options, e)));
      server.listen(spec.port, spec.host);
      return { close: () => void server.close() };
    }
    case 'ws-listen': {
      const wss = new (wsLibrary().WebSocketServer)({ host: spec.host, port: spec.port, perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 });
      let listening = false;
      wss.once('listening', () => {
        listening = true;
      });
      wss.on('connection', (ws) => options.onStream(new WsStream(ws, `${name} peer`)));
      wss.on('error', (e) => (listening ? options.onEvent(`channel ${name}: ${e.message}`) : listenFailed(name, options, e)));
      return { close: () => { for (const c of wss.clients) c.terminate(); wss.close(); } };
    }
    case 'vsock-listen': {
      let l: FdListener;
      try {
        l = FdListener.vsock(spec.port, undefined, NO_FDS);
      } catch (e) {
        throw Object.assign(new Error(`channel ${name}: cannot listen: ${(e as Error).message}`), { code: (e as NodeJS.ErrnoException).code });
      }
      l.on('connection', (s) => options.onStream(new FdByteStream(s, `${name} peer`)));
      l.on('error', (e: Error) => options.onEvent(`channel ${name}: ${e.message}`));
      return { close: () => l.close() };
    }
    default:
      return keepConnected(spec, options);
  }
}

export function openChannels(spec: ChannelSpec, options: OpenOptions): ChannelOpener {
  return listen(spec, options);
}
