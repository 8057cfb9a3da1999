// Channel SPECs from the command line: every form parses, every bad form says what to type instead.
import t from 'tap';
import { checkFdLeaks } from '../helpers/fd-leak';
import { describeSpec, isListenSpec, parseChannelSpec, SpecError, type ChannelSpec } from '../../transport/channel-spec';

checkFdLeaks(t);

const GOOD: Array<[string, ChannelSpec]> = [
  ['unix:/run/wayvio/vm1.sock', { kind: 'unix', path: '/run/wayvio/vm1.sock' }],
  ['unix:relative/ch.sock', { kind: 'unix', path: 'relative/ch.sock' }],
  ['unix:/odd:path', { kind: 'unix', path: '/odd:path' }],
  ['unix-listen:/run/wayvio/vm1.sock', { kind: 'unix-listen', path: '/run/wayvio/vm1.sock' }],
  ['virtio:org.wayvio.0', { kind: 'virtio', path: '/dev/virtio-ports/org.wayvio.0' }],
  ['file:/dev/hvc1', { kind: 'file', path: '/dev/hvc1' }],
  ['file:/dev/virtio-ports/org.wayvio.0', { kind: 'file', path: '/dev/virtio-ports/org.wayvio.0' }],
  ['vsock:2:5000', { kind: 'vsock', cid: 2, port: 5000 }],
  ['vsock:0:0', { kind: 'vsock', cid: 0, port: 0 }],
  ['vsock:4294967294:4294967294', { kind: 'vsock', cid: 4294967294, port: 4294967294 }],
  ['vsock-listen:5000', { kind: 'vsock-listen', port: 5000 }],
  ['tcp:127.0.0.1:5000', { kind: 'tcp', host: '127.0.0.1', port: 5000 }],
  ['tcp:host.example:1', { kind: 'tcp', host: 'host.example', port: 1 }],
  ['tcp:[::1]:65535', { kind: 'tcp', host: '::1', port: 65535 }],
  ['tcp-listen:0.0.0.0:5000', { kind: 'tcp-listen', host: '0.0.0.0', port: 5000 }],
  ['tcp-listen:[::]:5000', { kind: 'tcp-listen', host: '::', port: 5000 }],
  ['ws://127.0.0.1:5000/wayvio', { kind: 'ws', url: 'ws://127.0.0.1:5000/wayvio' }],
  ['ws://host.example', { kind: 'ws', url: 'ws://host.example' }],
  ['wss://host.example:443/vm1?token=x', { kind: 'ws', url: 'wss://host.example:443/vm1?token=x' }],
  ['ws://[::1]:5000/', { kind: 'ws', url: 'ws://[::1]:5000/' }],
  ['ws-listen:127.0.0.1:5000', { kind: 'ws-listen', host: '127.0.0.1', port: 5000 }],
  ['ws-listen:[::1]:5000', { kind: 'ws-listen', host: '::1', port: 5000 }],
];

t.test('every SPEC form parses', async (t) => {
  for (const [spec, want] of GOOD) t.same(parseChannelSpec(spec), want, spec);
});

t.test('describeSpec gives a SPEC that parses back to the same channel', async (t) => {
  for (const [spec] of GOOD) {
    const parsed = parseChannelSpec(spec);
    t.same(parseChannelSpec(describeSpec(parsed)), parsed, `${spec} -> ${describeSpec(parsed)}`);
  }
  t.equal(describeSpec(parseChannelSpec('virtio:org.wayvio.0')), 'virtio:org.wayvio.0');
  t.equal(describeSpec(parseChannelSpec('tcp:[::1]:5000')), 'tcp:[::1]:5000');
});

t.test('isListenSpec: the -listen forms, nothing else', async (t) => {
  const listening = GOOD.filter(([, s]) => isListenSpec(s)).map(([spec]) => spec.split(':')[0]);
  t.same([...new Set(listening)].sort(), ['tcp-listen', 'unix-listen', 'vsock-listen', 'ws-listen']);
});

// [bad SPEC, what the message must name as the problem, what it must offer to type instead]
const BAD: Array<[string, RegExp, RegExp]> = [
  ['', /has no scheme/, /use one of: unix:PATH, .*ws-listen:HOST:PORT/],
  ['/run/wayvio.sock', /has no scheme/, /use one of: unix:PATH/],
  [':/run/wayvio.sock', /has no scheme/, /use one of: unix:PATH/],
  ['unix', /has no scheme/, /use one of: unix:PATH/],
  ['sock:/run/x', /unknown scheme 'sock'/, /use one of: unix:PATH/],
  ['UNIX:/run/x', /unknown scheme 'UNIX'/, /use one of: unix:PATH/],
  ['http://host:80/', /unknown scheme 'http'/, /ws:\/\/HOST:PORT\/PATH/],
  ['toString:x', /unknown scheme 'toString'/, /use one of/],
  ['__proto__:x', /unknown scheme '__proto__'/, /use one of/],
  ['unix:', /nothing after 'unix:'/, /use unix:PATH, e\.g\. unix:\//],
  ['unix-listen:', /nothing after 'unix-listen:'/, /use unix-listen:PATH/],
  [`unix:/${'x'.repeat(120)}`, /at most 107 bytes, this one 121/, /use unix:PATH/],
  [`unix-listen:/${'é'.repeat(60)}`, /at most 107 bytes, this one 121/, /use unix-listen:PATH/],
  ['unix:/a\0b', /NUL byte/, /use unix:PATH/],
  ['file:', /nothing after 'file:'/, /use file:PATH of a character device/],
  ['file:/dev/\0', /NUL byte/, /use file:PATH/],
  ['virtio:', /nothing after 'virtio:'/, /use virtio:NAME/],
  ['virtio:/dev/virtio-ports/org.wayvio.0', /is not a port NAME/, /use virtio:NAME .*use file:PATH for any other path/],
  ['virtio:..', /'\.\.' is not a port NAME/, /use virtio:NAME/],
  ['virtio:.', /'\.' is not a port NAME/, /use virtio:NAME/],
  ['vsock:', /nothing after 'vsock:'/, /use vsock:CID:PORT, e\.g\. vsock:2:5000/],
  ['vsock:2', /expected a CID and a PORT/, /use vsock:CID:PORT/],
  ['vsock:2:5000:1', /expected a CID and a PORT/, /use vsock:CID:PORT/],
  ['vsock:host:5000', /'host' is not a CID/, /use vsock:CID:PORT/],
  ['vsock:-1:5000', /'-1' is not a CID/, /use vsock:CID:PORT/],
  ['vsock:2:', /'' is not a vsock port/, /use vsock:CID:PORT/],
  ['vsock:4294967295:5000', /'4294967295' is not a CID \(0-4294967294\)/, /use vsock:CID:PORT/],
  ['vsock:2:4294967296', /'4294967296' is not a vsock port/, /use vsock:CID:PORT/],
  ['vsock:2:0x10', /'0x10' is not a vsock port/, /use vsock:CID:PORT/],
  ['vsock-listen:', /nothing after 'vsock-listen:'/, /use vsock-listen:PORT/],
  ['vsock-listen:2:5000', /'2:5000' is not a vsock port/, /use vsock-listen:PORT, e\.g\. vsock-listen:5000/],
  ['vsock-listen:4294967295', /is not a vsock port/, /use vsock-listen:PORT/],
  ['tcp:', /nothing after 'tcp:'/, /use tcp:HOST:PORT/],
  ['tcp:127.0.0.1', /expected HOST:PORT after 'tcp:'/, /use tcp:HOST:PORT, e\.g\. tcp:127\.0\.0\.1:5000/],
  ['tcp:5000', /expected HOST:PORT/, /use tcp:HOST:PORT/],
  ['tcp::5000', /expected HOST:PORT/, /use tcp:HOST:PORT/],
  ['tcp:host:', /'' is not a port \(1-65535\)/, /use tcp:HOST:PORT/],
  ['tcp:host:0', /'0' is not a port \(1-65535\)/, /use tcp:HOST:PORT/],
  ['tcp:host:65536', /'65536' is not a port/, /use tcp:HOST:PORT/],
  ['tcp:host:http', /'http' is not a port/, /use tcp:HOST:PORT/],
  ['tcp:host:+80', /'\+80' is not a port/, /use tcp:HOST:PORT/],
  ['tcp:::1:5000', /put an IPv6 address in brackets/, /tcp:\[::1\]:5000/],
  ['tcp:[::1]', /expected HOST:PORT/, /use tcp:HOST:PORT/],
  ['tcp:[::1:5000', /expected HOST:PORT/, /use tcp:HOST:PORT/],
  ['tcp-listen:', /nothing after 'tcp-listen:'/, /use tcp-listen:HOST:PORT/],
  ['tcp-listen:5000', /expected HOST:PORT after 'tcp-listen:'/, /use tcp-listen:HOST:PORT, e\.g\. tcp-listen:127\.0\.0\.1:5000/],
  ['tcp-listen:0.0.0.0:0', /'0' is not a port/, /use tcp-listen:HOST:PORT/],
  ['ws-listen:', /nothing after 'ws-listen:'/, /use ws-listen:HOST:PORT/],
  ['ws-listen:5000', /expected HOST:PORT after 'ws-listen:'/, /use ws-listen:HOST:PORT, e\.g\. ws-listen:127\.0\.0\.1:5000/],
  ['ws-listen:host:99999', /'99999' is not a port/, /use ws-listen:HOST:PORT/],
  ['ws://', /not a WebSocket URL/, /use ws:\/\/HOST:PORT\/PATH or wss:\/\/HOST:PORT\/PATH/],
  ['wss://', /not a WebSocket URL/, /use ws:\/\/HOST:PORT\/PATH/],
  ['ws://host:99999/', /not a WebSocket URL/, /use ws:\/\/HOST:PORT\/PATH/],
  ['ws://ho st/', /not a WebSocket URL/, /use ws:\/\/HOST:PORT\/PATH/],
  ['ws:host:5000', /a WebSocket channel is a URL starting with ws:\/\//, /use ws:\/\/HOST:PORT\/PATH/],
  ['wss:host:443', /a WebSocket channel is a URL starting with wss:\/\//, /use ws:\/\/HOST:PORT\/PATH/],
  ['ws:', /a WebSocket channel is a URL/, /use ws:\/\/HOST:PORT\/PATH/],
];

t.test('every bad SPEC is a SpecError that says what to type instead', async (t) => {
  for (const [spec, problem, instead] of BAD) {
    let err: unknown;
    try {
      parseChannelSpec(spec);
    } catch (e) {
      err = e;
    }
    if (!(err instanceof SpecError)) {
      t.fail(`${JSON.stringify(spec)}: expected a SpecError, got ${err === undefined ? 'a result' : String(err)}`);
      continue;
    }
    t.equal(err.code, 'BAD_CHANNEL_SPEC', `${JSON.stringify(spec)}: code`);
    t.ok(err.message.startsWith(`channel '${spec}'`), `${JSON.stringify(spec)}: names the SPEC: ${JSON.stringify(err.message)}`);
    t.match(err.message, problem, `${JSON.stringify(spec)}: says what is wrong`);
    t.match(err.message, instead, `${JSON.stringify(spec)}: says what to type instead`);
    t.match(err.message, /; use /, `${JSON.stringify(spec)}: the hint reads "use …"`);
  }
});

t.test('a bad SPEC never throws anything but a SpecError', async (t) => {
  // every prefix of every good SPEC (and of a few odd ones) either parses or is a SpecError
  const texts = [...GOOD.map(([s]) => s), 'tcp:[::1]:5000', 'ws://[::1', 'vsock:1:1', 'ws-listen:[]:1'];
  let checked = 0;
  for (const text of texts) {
    for (let n = 0; n <= text.length; n++) {
      try {
        parseChannelSpec(text.slice(0, n));
      } catch (e) {
        if (!(e instanceof SpecError)) t.fail(`${JSON.stringify(text.slice(0, n))} threw ${String(e)}`);
      }
      checked++;
    }
  }
  t.ok(checked > 300, `${checked} prefixes checked`);
});
