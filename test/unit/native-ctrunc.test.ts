// MSG_CTRUNC: when the fd limit stops recvmsg installing every fd, the ones installed are closed and ECTRUNC thrown.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { checkFdLeaks } from '../helpers/fd-leak';

checkFdLeaks(t);

const INDEX = JSON.stringify(join(__dirname, '../../native/index.js'));
const TEST_ONLY = JSON.stringify(join(__dirname, '../../native/test-only.js'));
const SOCKET = JSON.stringify(join(__dirname, '../../transport/fd-socket.js'));

// Runs in a child with a low RLIMIT_NOFILE; prints one JSON line.
const CHILD = `
const fs = require('fs');
const n = { ...require(${INDEX}), ...require(${TEST_ONLY}) };
const { FdSocket } = require(${SOCKET});
const openFds = () => fs.readdirSync('/proc/self/fd').length;
function fillFdTable(free) {
  const fillers = [];
  try { for (;;) fillers.push(fs.openSync('/dev/null', 'r')); } catch (e) { if (e.code !== 'EMFILE') throw e; }
  n.closeAll(fillers.splice(0, free));
  return fillers;
}
function sendTen(fd) {
  const memfds = Array.from({ length: 10 }, (_, i) => n.memfdCreate('ctrunc-' + i));
  n.sendmsg(fd, Buffer.from('xyz'), 0, 3, memfds);
  n.closeAll(memfds);
}
const out = {};
const [a, b] = n.socketpair();
sendTen(b);
let fillers = fillFdTable(4);
const before = openFds();
try { n.recvmsg(a, Buffer.alloc(16)); out.raw = 'no error'; } catch (e) { out.raw = { code: e.code, syscall: e.syscall, message: e.message }; }
out.leaked = openFds() - before;
out.after = n.recvmsg(a, Buffer.alloc(16));
n.closeAll(fillers);

const [c, d] = n.socketpair();
const socket = new FdSocket(c);
socket.on('data', () => { out.socketData = true; });
socket.on('close', (e) => {
  out.socket = e && { code: e.code, syscall: e.syscall };
  out.socketLeaked = openFds() - socketBefore;
  n.closeAll(fillers);
  n.closeAll([d]);
  console.log(JSON.stringify(out));
});
sendTen(d);
fillers = fillFdTable(4);
const socketBefore = openFds();
`;

t.test('recvmsg and FdSocket under MSG_CTRUNC', async (t) => {
  const result = spawnSync('bash', ['-c', 'ulimit -n 128 && exec "$0" -e "$1"', process.execPath, CHILD], { encoding: 'utf8', timeout: 20_000 });
  t.equal(result.status, 0, result.stderr);
  const out = JSON.parse(result.stdout);
  t.match(out.raw, { code: 'ECTRUNC', syscall: 'recvmsg', message: /^recvmsg ECTRUNC/ }, 'a stable error code');
  t.equal(out.leaked, 0, 'the fds that did arrive were closed');
  t.equal(out.after, null, 'the truncated message is gone, the rest of the stream is intact');
  t.same(out.socket, { code: 'ECTRUNC', syscall: 'recvmsg' }, 'FdSocket closes with the error');
  t.notOk(out.socketData, 'and delivers nothing from that read');
  t.ok(out.socketLeaked <= 0, 'without leaking');
});
