// A hostile guest speaking raw channel frames: each violation ends that client or channel, never the host proxy.
import { connect } from 'node:net';
import t from 'tap';
import { checkFdLeaks } from '../helpers/fd-leak';
import { startWeston } from '../../harness/compositors';
import { startHostSite, type HostSite } from '../helpers/host-site';
import { sleep } from '../../harness/processes';
import { HostProxy } from '../../host-proxy/host-proxy';
import { ChannelSession } from '../../link/channel-session';
import { CloseCode, FrameKind, type CloseFrame, type Frame } from '../../protocol/channel-frames';
import { ProtocolRegistry } from '../../protocol/registry';
import { encodeMessage, type ArgValue } from '../../protocol/wire-codec';
import { decodeMessage, wholeMessages } from '../helpers/wire-messages';
import { SocketStream } from '../../transport/socket-stream';
import { mappedBytes } from '../../native/test-only';

checkFdLeaks(t);

const registry = ProtocolRegistry.builtin();
let site: HostSite;
let host: HostProxy;
let channelPath: string;
const logs: string[] = [];

t.before(async () => {
  site = startHostSite(await startWeston(), { write: (l) => {
    logs.push(l);
    if (process.env.WAYVIO_TEST_LOG === '1') process.stderr.write(l + '\n');
  } });
  host = site.host;
  channelPath = site.channel;
  await sleep(50);
});
t.teardown(() => site?.stop());

interface Guest {
  session: ChannelSession;
  frames: Frame[];
  closed: Promise<Error | undefined>;
}

async function attach(): Promise<Guest> {
  const socket = connect(channelPath);
  await new Promise((r) => socket.once('connect', r));
  const session = new ChannelSession(new SocketStream(socket, 'hostile'), { software: 'hostile guest' });
  const frames: Frame[] = [];
  session.on('frame', (f: Frame) => frames.push(f));
  const closed = new Promise<Error | undefined>((r) => session.once('close', r));
  await new Promise((r) => session.once('ready', r));
  return { session, frames, closed };
}

function request(iface: string, name: string, objectId: number, args: ArgValue[]): Uint8Array {
  const spec = registry.interface(iface)!;
  const opcode = spec.requests.findIndex((m) => m.name === name);
  return encodeMessage(objectId, opcode, spec.requests[opcode], args).bytes;
}

function wayland(g: Guest, conn: number, data: Uint8Array[], resources: number[] = []): void {
  g.session.send({ kind: FrameKind.Wayland, conn, resources, data: Buffer.concat(data) });
}

async function closeOf(g: Guest, conn: number): Promise<CloseFrame | undefined> {
  for (let i = 0; i < 200; i++) {
    const f = g.frames.find((x) => x.kind === FrameKind.Close && x.conn === conn) as CloseFrame | undefined;
    if (f !== undefined) return f;
    await sleep(10);
  }
  return undefined;
}

/** OPEN + get_registry + sync: returns the globals the host offered (interface → name). */
async function openWithRegistry(g: Guest, conn: number): Promise<Map<string, number>> {
  g.session.send({ kind: FrameKind.Open, conn, description: 'raw' });
  wayland(g, conn, [request('wl_display', 'get_registry', 1, [2]), request('wl_display', 'sync', 1, [3])]);
  const globalSpec = registry.event('wl_registry', 0)!;
  const names = new Map<string, number>();
  for (let i = 0; i < 300; i++) {
    let done = false;
    names.clear();
    for (const f of g.frames) {
      if (f.kind !== FrameKind.Wayland || f.conn !== conn) continue;
      for (const m of wholeMessages(f.data)) {
        if (m.objectId === 2 && m.opcode === 0) {
          const { args } = decodeMessage(m, globalSpec);
          names.set(args[1] as string, args[0] as number);
        }
        if (m.objectId === 3) done = true;
      }
    }
    if (done) break;
    await sleep(10);
  }
  return names;
}

t.test('binding a global the host did not offer ends that client only', async (t) => {
  const g = await attach();
  const offered = await openWithRegistry(g, 1);
  t.ok(offered.has('wl_compositor'), 'the host offered wl_compositor');
  t.notOk(offered.has('zwp_linux_explicit_synchronization_v1'), 'and hid explicit sync');
  await openWithRegistry(g, 2);
  // any name the host did not offer must be refused, whatever the guest claims
  wayland(g, 1, [request('wl_registry', 'bind', 2, [4242, { interface: 'zwp_linux_explicit_synchronization_v1', version: 1, id: 4 }])]);
  const close = await closeOf(g, 1);
  t.equal(close?.code, CloseCode.ProtocolError, `client 1 ended: ${close?.reason}`);
  t.match(close?.reason ?? '', /invalid global zwp_linux_explicit_synchronization_v1 \(4242\) version 1, not offered to this client/);
  wayland(g, 2, [request('wl_display', 'sync', 1, [4])]);
  await sleep(100);
  t.equal(host.channels.size, 1, 'the channel is still up');
  t.equal([...host.channels.values()][0].clients.has(2), true, 'client 2 is still served');
  g.session.destroy();
  await g.closed;
});

t.test('resource abuse ends the client with a clear reason', async (t) => {
  const g = await attach();
  let shmName = 0;
  const cases: [string, (conn: number) => void, RegExp][] = [
    ['write outside a pool', (c) => {
      g.session.send({ kind: FrameKind.ShmCreate, conn: c, resource: 1, size: 4096 });
      g.session.send({ kind: FrameKind.ResWrite, conn: c, resource: 1, offset: 4000, data: new Uint8Array(200) });
    }, /outside pool/],
    ['fd from an unknown resource', (c) => {
      wayland(g, c, [request('wl_display', 'sync', 1, [4])], [77]);
    }, /resources without an fd argument|unknown/],
    ['create_pool larger than the pool', (c) => {
      g.session.send({ kind: FrameKind.ShmCreate, conn: c, resource: 3, size: 4096 });
      wayland(g, c, [request('wl_registry', 'bind', 2, [shmName, { interface: 'wl_shm', version: 1, id: 4 }])]);
    }, /./],
    ['a pool beyond the per-pool limit', (c) => {
      g.session.send({ kind: FrameKind.ShmCreate, conn: c, resource: 1, size: 2 ** 40 });
    }, /per-pool limit/],
    ['a host resource id from the guest', (c) => {
      g.session.send({ kind: FrameKind.ShmCreate, conn: c, resource: 0x80000001, size: 4096 });
    }, /bad or reused resource/],
    ['a request to an unknown object', (c) => {
      wayland(g, c, [request('wl_display', 'sync', 1, [4]).map((b, i) => (i === 0 ? 99 : b))]);
    }, /UNKNOWN_OBJECT/],
  ];
  let conn = 10;
  for (const [what, act, reason] of cases) {
    conn++;
    shmName = (await openWithRegistry(g, conn)).get('wl_shm') ?? 0;
    act(conn);
    const close = await closeOf(g, conn);
    if (what === 'create_pool larger than the pool') {
      // bind worked; now the lie: a 4096-byte pool resource, create_pool claims 1 MiB
      t.equal(close, undefined, 'binding wl_shm is fine');
      wayland(g, conn, [request('wl_shm', 'create_pool', 4, [5, 0, 1 << 20])], [3]);
      const c2 = await closeOf(g, conn);
      t.match(c2?.reason ?? '', /does not fit/, `${what}: ${c2?.reason}`);
      continue;
    }
    t.equal(close?.code, /limit/.test(what) ? CloseCode.QuotaExceeded : CloseCode.ProtocolError, `${what}: ${close?.reason}`);
    t.match(close?.reason ?? '', reason);
  }
  t.equal(host.channels.size, 1, 'the channel survived every case');
  g.session.destroy();
  await g.closed;
  await sleep(50);
  t.equal(mappedBytes(), 0, 'no mapping left');
});

t.test('garbage on the channel ends that channel; the host serves the next one', async (t) => {
  const raw = connect(channelPath);
  await new Promise((r) => raw.once('connect', r));
  raw.resume();
  raw.write(Buffer.from('this is not a wayvio channel at all, just noise....'));
  await new Promise((r) => raw.once('close', r));
  t.ok(logs.some((l) => /BAD_MAGIC|bad frame/.test(l)), 'the host logged why');
  const g = await attach();
  const offered = await openWithRegistry(g, 1);
  t.ok(offered.has('wl_compositor'), 'a new channel is served');
  g.session.destroy();
  await g.closed;
});
