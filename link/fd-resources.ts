// Per-connection fd ⇄ resource conversion shared by both proxies: files (keymaps) and pipes (clipboard).
import { closeSync, fstatSync, readFileSync, readSync, writeSync, ftruncateSync } from 'node:fs';
import { closeAll, pipe2 } from '../transport/fds';
import { F_SEAL_GROW, F_SEAL_SEAL, F_SEAL_SHRINK, F_SEAL_WRITE, addSeals, memfdCreate } from './memory';
import { FILE_SEALED, FrameKind, HOST_RESOURCE_BIT, PipeMode, type Frame } from '../protocol/channel-frames';
import type { ChannelSession } from './channel-session';
import { HostShortage } from './host-shortage';
import { PipeBridge, type PipeBudget } from './pipe-bridge';

/** Largest file (keymap, or any regular file a message carries) sent over the channel. */
export const MAX_FILE_BYTES = 16 * 1024 * 1024;

export type FdKind = 'file' | 'pipe-write-end' | 'pipe-read-end' | 'unsupported';

/** What kind of resource an fd becomes, from fstat and its open mode. */
export function classifyFd(fd: number): { kind: FdKind; size: number; what: string } {
  const st = fstatSync(fd);
  if (st.isFile()) return { kind: 'file', size: st.size, what: 'file' };
  if (st.isFIFO() || st.isSocket()) {
    const flags = /flags:\s*([0-7]+)/.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
    const mode = flags === null ? 2 : parseInt(flags[1], 8) & 3;
    const what = st.isFIFO() ? 'pipe' : 'socket';
    return { kind: mode === 0 ? 'pipe-read-end' : 'pipe-write-end', size: 0, what };
  }
  return { kind: 'unsupported', size: 0, what: st.isDirectory() ? 'directory' : st.isCharacterDevice() ? 'character device' : st.isBlockDevice() ? 'block device' : 'unknown fd' };
}

interface IncomingFile {
  fd: number;
  size: number;
  sealed: boolean;
}

export class FdResources {
  private nextId: number;
  private readonly files = new Map<number, IncomingFile>();
  /** Pipe ends created for PIPE_OPEN from the peer, waiting for the message that carries them. */
  private readonly pipeEnds = new Map<number, number>();
  readonly bridges = new Map<number, PipeBridge>();

  constructor(
    private readonly conn: number,
    private readonly session: ChannelSession,
    private readonly side: 'guest' | 'host',
    private readonly onPipeDone: (bridge: PipeBridge, error?: Error) => void,
    /** Bounds the pipe bytes the peer makes this side hold; none when the peer is trusted. */
    private readonly pipeBudget?: PipeBudget,
  ) {
    this.nextId = side === 'host' ? HOST_RESOURCE_BIT + 1 : 1;
  }

  allocate(): number {
    const id = this.nextId++;
    if (this.side === 'guest' && this.nextId >= HOST_RESOURCE_BIT) this.nextId = 1;
    if (this.side === 'host' && this.nextId > 0xffffffff) this.nextId = HOST_RESOURCE_BIT + 1;
    return id;
  }

  /** Whether `id` was allocated by the peer (its half of the id space). */
  fromPeer(id: number): boolean {
    return ((id & HOST_RESOURCE_BIT) !== 0) === (this.side === 'guest');
  }

  /**
   * Turns an fd received from the local side into a resource announced to the peer. Takes
   * ownership of fd. Returns the resource id, or an error text for an fd that cannot travel.
   */
  export(fd: number, sizeHint?: number): { resource: number } | { error: string } {
    let info: ReturnType<typeof classifyFd>;
    try {
      info = classifyFd(fd);
    } catch (e) {
      closeAll([fd]);
      return { error: `fd cannot be inspected: ${(e as Error).message}` };
    }
    const resource = this.allocate();
    switch (info.kind) {
      case 'file': {
        const size = Math.min(sizeHint ?? info.size, info.size);
        if (size > MAX_FILE_BYTES) {
          closeAll([fd]);
          return { error: `file of ${size} bytes exceeds ${MAX_FILE_BYTES}` };
        }
        try {
          this.sendFile(resource, fd, size);
        } finally {
          closeAll([fd]);
        }
        return { resource };
      }
      case 'pipe-write-end':
      case 'pipe-read-end': {
        const writeEnd = info.kind === 'pipe-write-end';
        this.session.send({ kind: FrameKind.PipeOpen, conn: this.conn, resource, mode: writeEnd ? PipeMode.WriteEnd : PipeMode.ReadEnd });
        this.bridge(resource, fd, writeEnd ? 'from-peer' : 'to-peer');
        return { resource };
      }
      default:
        closeAll([fd]);
        return { error: `an fd of kind '${info.what}' cannot be forwarded across the VM boundary` };
    }
  }

  private sendFile(resource: number, fd: number, size: number): void {
    this.session.send({ kind: FrameKind.FileCreate, conn: this.conn, resource, flags: FILE_SEALED, size });
    const chunkMax = Math.min(64 * 1024, this.session.peerMaxFrameSize - 32);
    for (let offset = 0; offset < size;) {
      const chunk = Buffer.allocUnsafe(Math.min(chunkMax, size - offset));
      const n = readSync(fd, chunk, 0, chunk.byteLength, offset);
      if (n <= 0) break;
      this.session.send({ kind: FrameKind.ResWrite, conn: this.conn, resource, offset, data: chunk.subarray(0, n) });
      offset += n;
    }
  }

  private bridge(resource: number, fd: number, direction: 'to-peer' | 'from-peer'): void {
    const b = new PipeBridge({ conn: this.conn, resource, fd, direction, session: this.session, budget: this.pipeBudget, onDone: (br, err) => {
      this.bridges.delete(br.resource);
      this.onPipeDone(br, err);
    } });
    this.bridges.set(resource, b);
  }

  /**
   * Handles a resource frame from the peer. Returns null when handled, or an error text
   * (the connection is then ended as a protocol violation). Returns 'unhandled' for other kinds.
   * Throws what the pipe budget throws, and the errors of memfd_create, pipe2 and the like (a
   * HostShortage, or an error whose code says so, when this side is out of fds or memory).
   */
  onFrame(frame: Frame): string | null | 'unhandled' {
    switch (frame.kind) {
      case FrameKind.FileCreate: {
        if (!this.fromPeer(frame.resource) || this.files.has(frame.resource) || this.pipeEnds.has(frame.resource)) return `FILE_CREATE with bad or reused resource ${frame.resource}`;
        if (frame.size > MAX_FILE_BYTES) return `FILE_CREATE of ${frame.size} bytes exceeds ${MAX_FILE_BYTES}`;
        const fd = memfdCreate('wayvio-file', { cloexec: true, allowSealing: true });
        try {
          ftruncateSync(fd, frame.size);
        } catch (e) {
          closeSync(fd);
          const shortage = HostShortage.from(e, `creating a file of ${frame.size} bytes`);
          if (shortage !== null) throw shortage;
          return `cannot create a file of ${frame.size} bytes: ${(e as Error).message}`;
        }
        this.files.set(frame.resource, { fd, size: frame.size, sealed: (frame.flags & FILE_SEALED) !== 0 });
        return null;
      }
      case FrameKind.ResWrite: {
        const file = this.files.get(frame.resource);
        if (file === undefined) return 'unhandled';
        if (frame.offset + frame.data.byteLength > file.size) return `RES_WRITE past the end of file ${frame.resource}`;
        writeSync(file.fd, frame.data, 0, frame.data.byteLength, frame.offset);
        return null;
      }
      case FrameKind.PipeOpen: {
        if (!this.fromPeer(frame.resource) || this.pipeEnds.has(frame.resource) || this.bridges.has(frame.resource) || this.files.has(frame.resource)) return `PIPE_OPEN with bad or reused resource ${frame.resource}`;
        const [r, w] = pipe2();
        if (frame.mode === PipeMode.WriteEnd) {
          this.pipeEnds.set(frame.resource, w);
          this.bridge(frame.resource, r, 'to-peer');
        } else {
          this.pipeEnds.set(frame.resource, r);
          this.bridge(frame.resource, w, 'from-peer');
        }
        return null;
      }
      case FrameKind.PipeData: {
        const b = this.bridges.get(frame.resource);
        return b === undefined ? null : b.onData(frame.data); // a pipe closed locally may still get data in flight
      }
      case FrameKind.Credit: {
        const b = this.bridges.get(frame.resource);
        return b === undefined ? null : b.onCredit(frame.bytes);
      }
      case FrameKind.PipeClose:
        this.bridges.get(frame.resource)?.onClose();
        return null;
      default:
        return 'unhandled';
    }
  }

  /** The fd to pass on for a resource named in a WAYLAND frame (ownership moves to the caller), or null. */
  takeFd(resource: number): number | null {
    const file = this.files.get(resource);
    if (file !== undefined) {
      this.files.delete(resource);
      if (file.sealed) addSeals(file.fd, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
      return file.fd;
    }
    const end = this.pipeEnds.get(resource);
    if (end !== undefined) {
      this.pipeEnds.delete(resource);
      return end;
    }
    return null;
  }

  /** Closes every fd and bridge of the connection. */
  destroy(): void {
    closeAll([...this.files.values()].map((f) => f.fd));
    closeAll(this.pipeEnds.values());
    this.files.clear();
    this.pipeEnds.clear();
    for (const b of [...this.bridges.values()]) b.destroy();
    this.bridges.clear();
  }

  get pipeCount(): number {
    return this.bridges.size;
  }
}
