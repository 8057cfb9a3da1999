// A hostile guest against the pools the compositor maps: reused resource ids and pool floods leave weston and sway alive and bounded.
import { readFileSync } from 'node:fs';
import t, { type Test } from 'tap';
import { checkFdLeaks } from '../helpers/fd-leak';
import { startSway, startWeston } from '../../harness/compositors';
import { startHostSite, type HostSite } from '../helpers/host-site';
import { RawGuest, request } from '../helpers/raw-guest';
import { sleep } from '../../harness/processes';
import { fdCount, waitFor } from '../helpers/wait';
import { HostProxy } from '../../host-proxy/host-proxy';
import { CloseCode, FrameKind } from '../../protocol/channel-frames';

checkFdLeaks(t);

const MAX_POOLS = 200;
const MIB = 1024 * 1024;
let weston: HostSite;
let sway: HostSite;
let host: HostProxy;

t.before(async () => {
  weston = startHostSite(await startWeston(), { limits: { pools: MAX_POOLS, fds: 1000 } });
  sway = startHostSite(await startSway(), { limits: { pools: MAX_POOLS, fds: 1000 } });
  host = weston.host;
});
t.teardown(async () => {
  await weston?.stop();
  await sway?.stop();
});

function westonMappings(): number {
  return readFileSync(`/proc/${weston.compositor.pid}/maps`, 'utf8').split('\n').length;
}

/** The compositor still runs and serves a fresh client on a fresh channel. */
async function compositorServes(t: Test, site = weston): Promise<void> {
  const { compositor } = site;
  const status = compositor.exitStatus();
  t.equal(status, undefined, `${compositor.kind} is alive${status === undefined ? '' : `: exited ${status}; ${compositor.log().slice(-400)}`}`);
  const probe = await RawGuest.attach(site.channel);
  const offered = await probe.openWithRegistry(99);
  t.ok(offered.has('wl_compositor'), 'a new guest is served');
  t.ok(await probe.roundtrip(99), 'and its round trip comes back');
  await probe.destroy();
}

/** Binds wl_compositor, wl_shm and xdg_wm_base on `conn`; returns their ids. */
function bindAll(g: RawGuest, conn: number, names: Map<string, number>): { compositor: number; shm: number; wm: number } {
  const ids = { compositor: g.newId(conn), shm: g.newId(conn), wm: g.newId(conn) };
  g.wayland(conn, [
    request('wl_registry', 'bind', 2, [names.get('wl_compositor')!, { interface: 'wl_compositor', version: 4, id: ids.compositor }]),
    request('wl_registry', 'bind', 2, [names.get('wl_shm')!, { interface: 'wl_shm', version: 1, id: ids.shm }]),
    request('wl_registry', 'bind', 2, [names.get('xdg_wm_base')!, { interface: 'xdg_wm_base', version: 1, id: ids.wm }]),
  ]);
  return ids;
}

for (const which of ['weston', 'sway'] as const) {
  t.test(`${which}: a pool resized past the memfd the compositor holds, through a reused resource id, is refused`, async (t) => {
    const site = which === 'weston' ? weston : sway;
    const g = await RawGuest.attach(site.channel);
    const names = await g.openWithRegistry(1);
    const { compositor, shm, wm } = bindAll(g, 1, names);
    const pool = g.newId(1);
    // the compositor gets a dup of a 4 KiB memfd; then the guest drops that resource and makes a 64 MiB one with the same id
    g.send({ kind: FrameKind.ShmCreate, conn: 1, resource: 1, size: 4096 });
    g.wayland(1, [request('wl_shm', 'create_pool', shm, [pool, 0, 4096])], [1]);
    g.send({ kind: FrameKind.ResDrop, conn: 1, resource: 1 });
    g.send({ kind: FrameKind.ShmCreate, conn: 1, resource: 1, size: 64 * MIB });
    const buffer = g.newId(1);
    const surface = g.newId(1);
    const xdgSurface = g.newId(1);
    const toplevel = g.newId(1);
    g.wayland(1, [
      request('wl_shm_pool', 'resize', pool, [64 * MIB]),
      request('wl_shm_pool', 'create_buffer', pool, [buffer, 64 * MIB - 256 * 64, 64, 64, 256, 0]),
      request('wl_compositor', 'create_surface', compositor, [surface]),
      request('xdg_wm_base', 'get_xdg_surface', wm, [xdgSurface, surface]),
      request('xdg_surface', 'get_toplevel', xdgSurface, [toplevel]),
      request('wl_surface', 'commit', surface, []),
    ]);
    await g.roundtrip(1);
    // ack the configure the compositor sent, then show the buffer
    g.wayland(1, [
      request('xdg_surface', 'ack_configure', xdgSurface, [firstConfigureSerial(g, 1, xdgSurface)]),
      request('wl_surface', 'attach', surface, [buffer, 0, 0]),
      request('wl_surface', 'damage', surface, [0, 0, 64, 64]),
      request('wl_surface', 'commit', surface, []),
    ]);
    await g.roundtrip(1);
    await sleep(300); // a repaint or two
    const close = g.closeFrame(1);
    t.equal(close?.code, CloseCode.ProtocolError, `the client was ended: ${close?.reason}`);
    t.match(close?.reason ?? '', /resize\(67108864\): a pool of 4096 bytes may grow only up to the 4096 bytes of memory the compositor maps/);
    await g.destroy();
    await compositorServes(t, site);
  });
}

t.test('a pool grown with SHM_RESIZE may be resized, and a buffer at its end shown', async (t) => {
  const g = await RawGuest.attach(weston.channel);
  const names = await g.openWithRegistry(1);
  const { shm } = bindAll(g, 1, names);
  const pool = g.newId(1);
  const buffer = g.newId(1);
  g.send({ kind: FrameKind.ShmCreate, conn: 1, resource: 1, size: 4096 });
  g.wayland(1, [request('wl_shm', 'create_pool', shm, [pool, 0, 4096])], [1]);
  g.send({ kind: FrameKind.ShmResize, conn: 1, resource: 1, size: MIB });
  g.wayland(1, [
    request('wl_shm_pool', 'resize', pool, [MIB]),
    request('wl_shm_pool', 'create_buffer', pool, [buffer, MIB - 256 * 64, 64, 64, 256, 0]),
  ]);
  t.ok(await g.roundtrip(1), 'the compositor took the grown pool and the buffer');
  t.equal(g.closeFrame(1), undefined, 'the client lives');
  // a pool never shrinks, and a buffer must fit the pool's size as the compositor knows it
  g.wayland(1, [request('wl_shm_pool', 'resize', pool, [8192])]);
  const close = await g.closeOf(1);
  t.match(close?.reason ?? '', /resize\(8192\): a pool of 1048576 bytes may grow only/);
  await g.destroy();
});

t.test('create_buffer beyond the pool, in any arithmetic, is refused by the host', async (t) => {
  const g = await RawGuest.attach(weston.channel);
  const cases: [number, number, number, number][] = [
    [0, 64, 64, 64 * 4 * 2], // 32 KiB in a 4 KiB pool
    [4096, 1, 1, 4], // starts at the end
    [0, 0x40000000, 4, 0x40000000], // stride * height overflows 32 bits
    [-4, 1, 1, 4],
  ];
  let conn = 10;
  for (const [offset, width, height, stride] of cases) {
    conn++;
    const { shm } = bindAll(g, conn, await g.openWithRegistry(conn));
    const pool = g.newId(conn);
    g.send({ kind: FrameKind.ShmCreate, conn, resource: 1, size: 4096 });
    g.wayland(conn, [
      request('wl_shm', 'create_pool', shm, [pool, 0, 4096]),
      request('wl_shm_pool', 'create_buffer', pool, [g.newId(conn), offset, width, height, stride, 0]),
    ], [1]);
    const close = await g.closeOf(conn);
    t.equal(close?.code, CloseCode.ProtocolError, `${width}x${height} stride ${stride} at ${offset}: ${close?.reason}`);
    t.match(close?.reason ?? '', /does not fit the 4096-byte pool/);
  }
  await g.destroy();
  await compositorServes(t);
});

t.test('a flood of create_pool on one resource is bounded by --max-pools, and the compositor gives its mappings back', async (t) => {
  const fdsBefore = fdCount();
  const mapsBefore = westonMappings();
  const g = await RawGuest.attach(weston.channel);
  const { shm } = bindAll(g, 1, await g.openWithRegistry(1));
  g.send({ kind: FrameKind.ShmCreate, conn: 1, resource: 1, size: MIB });
  const pools = (n: number): void => {
    for (let done = 0; done < n; done += 100) {
      const batch: Uint8Array[] = [];
      for (let j = 0; j < Math.min(100, n - done); j++) batch.push(request('wl_shm', 'create_pool', shm, [g.newId(1), 0, MIB]));
      g.wayland(1, batch, new Array<number>(batch.length).fill(1));
    }
  };
  // under the limit, each pool is a mapping in the compositor (this is what the limit counts)
  pools(MAX_POOLS - 10);
  t.ok(await g.roundtrip(1), 'pools under the limit are served');
  const below = westonMappings() - mapsBefore;
  t.ok(below >= MAX_POOLS - 60, `weston maps them: ${below} more mappings`);
  // then 5000 more from the same 1 MiB resource, on the same quota charge
  pools(5000);
  await g.roundtrip(1);
  const close = g.closeFrame(1);
  t.equal(close?.code, CloseCode.QuotaExceeded, `ended at the limit: ${close?.reason}`);
  t.match(close?.reason ?? '', new RegExp(`${MAX_POOLS + 1} shm pools for this client, more than ${MAX_POOLS} \\(--max-pools\\)`));
  const after = westonMappings() - mapsBefore;
  t.ok(after <= MAX_POOLS + 50, `weston holds no more than --max-pools more mappings (${after})`);
  await g.destroy();
  t.ok(await waitFor(() => host.channels.size === 0), 'the host saw the channel go');
  t.ok(await waitFor(() => westonMappings() - mapsBefore <= 50), `weston gave them back (${westonMappings() - mapsBefore} more than before)`);
  t.ok(await waitFor(() => fdCount() <= fdsBefore), `the host holds no fd more than before (${fdCount()} against ${fdsBefore})`);
  await compositorServes(t);
});

t.test('pools the compositor maps count against the guest\'s --max-fds, across clients', async (t) => {
  const g = await RawGuest.attach(weston.channel);
  // 6 clients with 180 pools each stay under --max-pools; together they pass --max-fds (1000)
  let ended: number | undefined;
  for (let conn = 1; conn <= 6 && ended === undefined; conn++) {
    const { shm } = bindAll(g, conn, await g.openWithRegistry(conn));
    g.send({ kind: FrameKind.ShmCreate, conn, resource: 1, size: 4096 });
    const batch: Uint8Array[] = [];
    for (let j = 0; j < 180; j++) batch.push(request('wl_shm', 'create_pool', shm, [g.newId(conn), 0, 4096]));
    g.wayland(conn, batch, new Array<number>(180).fill(1));
    await g.roundtrip(conn);
    if (g.closeFrame(conn) !== undefined) ended = conn;
  }
  t.equal(ended, 6, 'the sixth client passed the guest\'s fds');
  t.match(g.closeFrame(6)?.reason ?? '', /--max-fds/);
  t.equal(g.closeFrame(5), undefined, 'the clients before it live');
  t.ok(host.fdsInUse() <= 1000, `fds held or handed on for the guest: ${host.fdsInUse()}`);
  await g.destroy();
  t.ok(await waitFor(() => host.fdsInUse() === 0), 'all given back with the channel');
});

/** The serial of the first xdg_surface.configure the host delivered for `xdgSurface`. */
function firstConfigureSerial(g: RawGuest, conn: number, xdgSurface: number): number {
  for (const m of g.messages(conn)) if (m.objectId === xdgSurface && m.opcode === 0) return Buffer.from(m.body).readUInt32LE(0);
  return 0;
}
