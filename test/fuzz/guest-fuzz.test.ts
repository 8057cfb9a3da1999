// Fuzzes the guest proxy's parsing of client bytes: many short-lived raw clients send mutated recorded requests or
// generated hostile ones (with real fds of several kinds); the guest proxy stays up and serves a real client after.
import { ftruncateSync, openSync } from 'node:fs';
import t from 'tap';
import { checkFdLeaks, openFds } from '../helpers/fd-leak';
import { Prng } from '../helpers/prng';
import { startProxyPair, type ProxyPair } from '../helpers/proxy-pair';
import { buildTestClients, startPatternClient, waylandInfo, type PatternClient, type TestClients } from '../../harness/test-clients';
import { fdCount, waitFor } from '../helpers/wait';
import { FdSocket } from '../../transport/fd-socket';
import { closeAll, memfdCreate, pipe2, unixConnect } from '../../native/index';
import { mappedBytes } from '../../native/test-only';
import { MessageBuffer } from '../../protocol/message-buffer';
import { encodeMessage } from '../../protocol/wire-codec';
import { corpusFromStream, loadCorpus, recordStream } from './corpus';
import { clientStreams, generateStream, mutateStream, registry, type ClientStream } from './client-streams';
import { watchProcessErrors } from './process-errors';
import { RestartingWeston } from './restarting-weston';

checkFdLeaks(t);

/** fds open now that were not at `before`, for the failure message. */
function newFds(before: Map<number, string>): string {
  const extra = [...openFds()].filter(([fd, target]) => before.get(fd) !== target).map(([fd, target]) => `${fd} -> ${target}`);
  return extra.length === 0 ? '' : `: ${extra.join(', ')}`;
}

// 16 s by default (keeps `npm test` short); WAYVIO_FUZZ_SECONDS, when set, is run in full
const SECONDS = Number(process.env.WAYVIO_FUZZ_SECONDS ?? 16);
const SEED = Number(process.env.WAYVIO_FUZZ_SEED ?? 0x5eed) ^ 0x6e657374;
const PARALLEL = 4;

let weston: RestartingWeston;
let clients: TestClients;
let pair: ProxyPair;
let recorded: ClientStream[];
const errors = watchProcessErrors();

t.before(async () => {
  clients = await buildTestClients();
  weston = await RestartingWeston.start();
  recorded = clientStreams(loadCorpus() ?? corpusFromStream(await recordStream(weston.path, clients)));
  pair = await startProxyPair({ compositorPath: weston.path });
});
t.teardown(async () => {
  await pair?.stop();
  await weston?.stop();
});

/** An fd for an `fd` argument: mostly a pool-sized memfd, sometimes something no pool can be. */
function someFd(rng: Prng, plausible = false): number {
  switch (plausible ? 9 : rng.below(10)) {
    case 0: { const [r, w] = pipe2(); const keep = rng.below(2) === 0 ? r : w; closeAll([keep === r ? w : r]); return keep; }
    case 1: return openSync('/dev/null', 'r');
    case 2: return openSync('/tmp', 'r'); // a directory
    case 3: return memfdCreate('fuzz-empty'); // 0 bytes
    default: {
      const fd = memfdCreate('fuzz-pool');
      ftruncateSync(fd, 4 << 20); // sparse
      return fd;
    }
  }
}

/** Where the guest's message reader stops: 'clean' when every message header is sane and the stream ends on a boundary. */
function framing(bytes: Uint8Array): 'clean' | 'broken' {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let off = 0;
  while (off + 8 <= bytes.byteLength) {
    const size = v.getUint32(off + 4, true) >>> 16;
    if (size < 8 || size % 4 !== 0 || size > 4096) return 'broken';
    off += size;
  }
  return off === bytes.byteLength ? 'clean' : 'broken';
}

class FuzzClient {
  readonly socket: FdSocket;
  private readonly input = new MessageBuffer(65536);
  readonly done = new Set<number>();
  readonly globals = new Map<number, [string, number]>();
  closed = false;
  readonly gone: Promise<void>;

  constructor(path: string) {
    this.socket = new FdSocket(unixConnect(path));
    this.socket.on('data', (bytes: Buffer, fds: number[]) => {
      closeAll(fds); // keymaps and the like: not needed here
      try {
        this.input.push(bytes, []);
        for (let m = this.input.next(); m !== null; m = this.input.next()) this.onEvent(m.objectId, m.opcode, m.bytes);
      } catch {
        this.socket.destroy();
      }
    });
    this.gone = new Promise((resolve) => this.socket.once('close', () => {
      this.closed = true;
      resolve();
    }));
  }

  private onEvent(id: number, opcode: number, bytes: Uint8Array): void {
    if (opcode === 0 && id !== 1 && id !== 2) this.done.add(id); // wl_callback.done (or any first event of an object)
    if (id === 2 && opcode === 0) {
      const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const name = v.getUint32(8, true);
      const len = v.getUint32(12, true);
      const iface = Buffer.from(bytes.subarray(16, 16 + len - 1)).toString('utf8');
      const version = v.getUint32(16 + ((len + 3) & ~3), true);
      if (registry.interface(iface) !== undefined) this.globals.set(name, [iface, version]);
    }
  }

  /**
   * Sends requests in random-sized writes, each write carrying the fds of the messages that start in it. After a
   * wl_display.sync it waits for the answer (or the end), as a real client does before it binds what it saw.
   */
  async send(rng: Prng, stream: ClientStream, plausible: boolean): Promise<number> {
    let bytes = 0;
    let framed = true; // every message so far says its own length: the guest sees the sync as a sync
    for (let i = 0; i < stream.requests.length && !this.closed;) {
      let n = 1 + rng.below(8);
      const sync = stream.requests.slice(i, i + n).findIndex((r) => isSync(r.bytes));
      if (sync >= 0) n = sync + 1;
      const part = stream.requests.slice(i, i + n);
      i += n;
      framed &&= part.every((r) => framing(r.bytes) === 'clean');
      const data = Buffer.concat(part.map((r) => r.bytes));
      const fds = part.flatMap((r) => Array.from({ length: r.fds }, () => someFd(rng, plausible)));
      if (data.byteLength === 0 || fds.length > 28 * data.byteLength) {
        closeAll(fds);
        continue;
      }
      this.socket.write(data, fds);
      bytes += data.byteLength;
      if (sync >= 0 && framed) {
        const id = new DataView(part[sync].bytes.buffer, part[sync].bytes.byteOffset).getUint32(8, true);
        if (!(await waitFor(() => this.done.has(id) || this.closed, 15000, 2))) throw new Error(`no answer to wl_display.sync(${id}) and no end within 15 s`);
      }
    }
    return bytes;
  }
}

/** wl_display#1.sync: the one request whose answer a replay waits for. */
function isSync(b: Uint8Array): boolean {
  if (b.byteLength !== 12) return false;
  const v = new DataView(b.buffer, b.byteOffset, 12);
  return v.getUint32(0, true) === 1 && v.getUint32(4, true) === ((12 << 16) | 0);
}

const syncSpec = registry.interface('wl_display')!.requests[0];

/** One short-lived client; resolves with what it sent, rejects when the guest neither answers nor closes. */
async function runClient(rng: Prng): Promise<{ messages: number; bytes: number; how: string }> {
  const c = new FuzzClient(pair.socketPath);
  let stream: ClientStream;
  let how: string;
  if (rng.below(2) === 0 && recorded.length > 0) {
    stream = mutateStream(rng, recorded, rng.pick(recorded));
    how = 'recorded, mutated';
  } else {
    c.socket.write(Buffer.concat([encodeMessage(1, 1, registry.interface('wl_display')!.requests[1], [2]).bytes, encodeMessage(1, 0, syncSpec, [3]).bytes]));
    await waitFor(() => c.done.has(3) || c.closed, 10000, 2);
    const hostile = rng.below(2) === 0;
    stream = generateStream(rng, c.globals, 5 + rng.below(60), hostile ? 0.15 : 0);
    how = hostile ? 'generated hostile' : 'generated plausible';
  }
  const all = Buffer.concat(stream.requests.map((r) => r.bytes));
  const clean = framing(all) === 'clean';
  const bytes = await c.send(rng, stream, how === 'generated plausible');
  if (clean) c.socket.write(encodeMessage(1, 0, syncSpec, [stream.nextId]).bytes);
  else c.socket.end(); // the guest waits for the rest of a message: end the stream
  const settled = await waitFor(() => c.closed || c.done.has(stream.nextId), 15000, 2);
  const answered = c.done.has(stream.nextId);
  c.socket.destroy();
  await c.gone;
  if (!settled) throw new Error(`the guest neither answered nor closed a ${how} client within 15 s`);
  return { messages: stream.requests.length, bytes, how: `${how}, ${answered ? 'answered' : 'ended'}` };
}

t.setTimeout((SECONDS + 180) * 1000);

t.test(`guest fuzz: ${SECONDS.toFixed(0)} s of hostile clients against the guest proxy`, { timeout: (SECONDS + 120) * 1000 }, async (t) => {
  const bystander: PatternClient = await startPatternClient(clients, pair, { width: 64, height: 64 });
  t.teardown(() => bystander.stop());
  await waylandInfo(pair);
  const fdsBefore = fdCount();
  const openBefore = openFds();
  const started = Date.now();
  const end = started + SECONDS * 1000;
  let count = 0;
  let messages = 0;
  let bytes = 0;
  const kinds: Record<string, number> = {};
  await Promise.all(Array.from({ length: PARALLEL }, async (_, lane) => {
    for (let i = lane; Date.now() < end; i += PARALLEL) {
      const r = await runClient(new Prng(SEED ^ Math.imul(i + 1, 0x85ebca6b)));
      count++;
      messages += r.messages;
      bytes += r.bytes;
      kinds[r.how] = (kinds[r.how] ?? 0) + 1;
      if (errors.list.length > 0) throw new Error(`client ${i} (${r.how}) raised: ${errors.list[0]}`);
    }
  }));
  const seconds = (Date.now() - started) / 1000;
  t.comment(`seed ${SEED}: ${count} clients (${Object.entries(kinds).map(([k, n]) => `${k} ${n}`).join(', ')}), ${messages} requests, ${(bytes / 1024).toFixed(0)} KiB in ${seconds.toFixed(1)} s = ${(messages / seconds).toFixed(0)} requests/s`);
  t.same(errors.list, [], 'no uncaught exception or unhandled rejection');
  // an internal error's line may be held back by a log budget: then the count names it, and the host counts it
  const internal = pair.logs.filter((l) => /internal error|suppressed \(rate limit\), \d+ of them error/.test(l));
  t.same(internal.slice(0, 3), [], `no internal error in either proxy (${internal.length})`);
  t.equal(pair.host.totals.internalErrors, 0, 'the host counted none');
  t.ok(pair.guest.connected, 'the guest proxy kept its channel');
  await weston.check();
  // a compositor crash on what passed both proxies is a hole in the host's request model (DESIGN.md, trust boundary)
  t.equal(weston.crashes, 0, `weston never crashed on what passed both proxies${weston.crashes === 0 ? '' : `: ${weston.crashLogs.join(' || ')}`}`);
  t.equal(bystander.process.proc.exitCode, null, 'the real client kept running');
  t.ok((await waylandInfo(pair)).some((g) => g.interface === 'wl_compositor'), 'a new real client is served');
  const after = await startPatternClient(clients, pair, { width: 32, height: 32 });
  await after.stop();
  t.pass('and one that draws');
  await bystander.stop();
  t.ok(await waitFor(() => pair.guest.clientCount === 0 && pair.host.clientCount === 0, 10000), 'every client gone on both sides');
  t.ok(await waitFor(() => mappedBytes() === 0), `mappedBytes() back to 0 (${mappedBytes()})`);
  t.equal(pair.host.quota.used, 0, 'the guest quota back to 0');
  t.ok(await waitFor(() => fdCount() <= fdsBefore), `fds back to ${fdsBefore} (now ${fdCount()}${newFds(openBefore)})`);
});
