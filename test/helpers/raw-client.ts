// A scriptable Wayland client built on wayvio's own codec, for protocol-error and hostile-input tests.
import { FdSocket } from '../../transport/fd-socket';
import { closeAll, unixConnect } from '../../native/index';
import { MessageBuffer } from '../../protocol/message-buffer';
import { ObjectMap, type TrackedObject } from '../../protocol/object-map';
import { ProtocolRegistry } from '../../protocol/registry';
import { encodeMessage, type ArgValue } from '../../protocol/wire-codec';
import { decodeMessage } from './wire-messages';

export interface RawEvent {
  objectId: number;
  iface: string;
  name: string;
  args: ArgValue[];
}

export class RawClient {
  readonly registry = ProtocolRegistry.builtin();
  readonly objects = new ObjectMap(this.registry);
  readonly events: RawEvent[] = [];
  readonly globals = new Map<string, { name: number; version: number }>();
  private readonly input = new MessageBuffer();
  private readonly socket: FdSocket;
  private nextId = 2;
  /** The id the next created object gets instead of a fresh one (set by reuseId). */
  private reusedId: number | null = null;
  closed = false;
  private waiters: (() => void)[] = [];
  private corked: { bytes: Uint8Array[]; fds: number[] } | null = null;
  /**
   * Objects the server deleted (wl_display.delete_id) that this client never destroyed, as wlroots does with a
   * decoration whose toplevel is gone: like libwayland-client, requests to them still go out.
   */
  private readonly deletedByServer = new Map<number, TrackedObject>();

  constructor(socketPath: string) {
    this.socket = new FdSocket(unixConnect(socketPath));
    this.socket.on('data', (bytes: Buffer, fds: number[]) => {
      this.input.push(bytes, fds);
      for (let m = this.input.next(); m !== null; m = this.input.next()) {
        const spec = this.objects.eventSpec(m.objectId, m.opcode);
        const iface = this.objects.get(m.objectId)!.iface.name;
        const { args, fds: taken } = decodeMessage(m, spec, this.input.fds);
        closeAll(taken);
        if (m.objectId === 1 && spec.name === 'delete_id') {
          const gone = this.objects.get(args[0] as number);
          if (gone !== undefined && !gone.zombie) this.deletedByServer.set(gone.id, gone);
        }
        this.objects.applyEvent(m.objectId, spec, args);
        this.events.push({ objectId: m.objectId, iface, name: spec.name, args });
        if (iface === 'wl_registry' && spec.name === 'global') this.globals.set(args[1] as string, { name: args[0] as number, version: args[2] as number });
      }
      this.wake();
    });
    this.socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Sends a request; returns the id of the object it creates (if any). */
  send(objectId: number, request: string, args: ArgValue[], fds: number[] = []): number {
    const deleted = this.deletedByServer.get(objectId);
    const obj = deleted ?? this.objects.get(objectId);
    if (obj === undefined) throw new Error(`no object ${objectId}`);
    const opcode = obj.iface.requests.findIndex((r) => r.name === request);
    const spec = obj.iface.requests[opcode];
    if (spec === undefined) throw new Error(`${obj.iface.name} has no request ${request}`);
    let created = 0;
    const full = spec.args.map((a, i) => {
      if (a.type !== 'new_id') return a.type === 'fd' ? fds.shift()! : args[i];
      created = this.reusedId ?? this.nextId++;
      this.reusedId = null;
      if (a.interface === undefined) return { ...(args[i] as object), id: created } as ArgValue;
      return created;
    });
    const { bytes, fds: out } = encodeMessage(objectId, opcode, spec, full);
    if (deleted === undefined) this.objects.applyRequest(objectId, spec, full);
    else if (created !== 0) throw new Error(`${obj.iface.name}#${objectId}.${request}: the server deleted it; new objects from it are not tracked`);
    else if (spec.destructor) this.deletedByServer.delete(objectId);
    if (this.corked !== null) {
      this.corked.bytes.push(bytes);
      this.corked.fds.push(...out);
    } else {
      this.socket.write(bytes, out);
    }
    return created;
  }

  /**
   * Requests sent inside `fn` go out in one write: a compositor that closes us after the first of them cannot
   * make a later write fail (EPIPE) and lose its wl_display.error with it.
   */
  batch<T>(fn: () => T): T {
    this.corked = { bytes: [], fds: [] };
    try {
      return fn();
    } finally {
      const { bytes, fds } = this.corked;
      this.corked = null;
      this.socket.write(Buffer.concat(bytes), fds);
    }
  }

  /** The next object this client creates gets `id` (one the server freed with wl_display.delete_id). */
  reuseId(id: number): void {
    this.reusedId = id;
  }

  /** Resolves when `pred` holds for the received events, or the connection closed. */
  async until(pred: () => boolean, timeoutMs = 5000): Promise<boolean> {
    const end = Date.now() + timeoutMs;
    while (!pred() && !this.closed) {
      if (Date.now() > end) return false;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(1, end - Date.now()));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return pred();
  }

  /** wl_display.sync round trip. */
  async roundtrip(): Promise<void> {
    const cb = this.send(1, 'sync', [0]);
    await this.until(() => this.events.some((e) => e.objectId === cb && e.name === 'done'));
  }

  /** get_registry + round trip; returns the registry id. */
  async getRegistry(): Promise<number> {
    const reg = this.send(1, 'get_registry', [0]);
    await this.roundtrip();
    return reg;
  }

  bind(registryId: number, iface: string, version: number, name = this.globals.get(iface)?.name ?? 0): number {
    return this.send(registryId, 'bind', [name, { interface: iface, version, id: 0 }]);
  }

  /** Binds wl_compositor 4, wl_shm and xdg_wm_base, and makes an xdg_toplevel whose first configure is acked. */
  async toplevel(): Promise<{ surface: number; shm: number }> {
    const reg = await this.getRegistry();
    const compositor = this.bind(reg, 'wl_compositor', 4);
    const shm = this.bind(reg, 'wl_shm', 1);
    const wm = this.bind(reg, 'xdg_wm_base', 1);
    const surface = this.send(compositor, 'create_surface', [0]);
    const xdgSurface = this.send(wm, 'get_xdg_surface', [0, surface]);
    this.send(xdgSurface, 'get_toplevel', [0]);
    this.send(surface, 'commit', []);
    const configured = (e: RawEvent): boolean => e.iface === 'xdg_surface' && e.name === 'configure';
    await this.until(() => this.events.some(configured));
    this.send(xdgSurface, 'ack_configure', [this.events.find(configured)!.args[0]]);
    return { surface, shm };
  }

  error(): RawEvent | undefined {
    return this.events.find((e) => e.iface === 'wl_display' && e.name === 'error');
  }

  close(): void {
    this.socket.destroy();
  }
}
