// Two raw ptys joined back to back (python3): a pair of character devices that stand in for a virtio-serial port.
import { spawnManaged, waitForLine, type Managed } from '../../harness/processes';

/**
 * Each pty's slave is set raw (cfmakeraw: 8-bit clean, no echo, no line discipline, no signals, no flow
 * control) and kept open here, so its settings stay and the master never sees EIO. Bytes read from one master
 * are written to the other, with a bounded buffer per direction (a full buffer stops reading: backpressure).
 * The slaves are what the proxies open as `file:PATH` — through symlinks at the paths given, like socat's
 * `link=`. While a master is open the slave polls POLLOUT without POLLHUP; once this process is gone the
 * slave reports a hangup, as a virtio port does when its host end goes away.
 */
const BRIDGE = String.raw`
import os, select, sys, termios, tty

def raw_pty(link):
    master, slave = os.openpty()
    mode = termios.tcgetattr(slave)
    mode[0] &= ~(termios.IGNBRK | termios.BRKINT | termios.PARMRK | termios.ISTRIP | termios.INLCR | termios.IGNCR | termios.ICRNL | termios.IXON | termios.IXOFF)
    mode[1] &= ~termios.OPOST
    mode[2] &= ~(termios.CSIZE | termios.PARENB)
    mode[2] |= termios.CS8
    mode[3] &= ~(termios.ECHO | termios.ECHONL | termios.ICANON | termios.ISIG | termios.IEXTEN)
    mode[6][termios.VMIN] = 1
    mode[6][termios.VTIME] = 0
    termios.tcsetattr(slave, termios.TCSANOW, mode)
    os.set_blocking(master, False)
    try:
        os.unlink(link)
    except FileNotFoundError:
        pass
    os.symlink(os.ttyname(slave), link)
    return master, slave

a, _keep_a = raw_pty(sys.argv[1])
b, _keep_b = raw_pty(sys.argv[2])
peer = {a: b, b: a}
pending = {a: bytearray(), b: bytearray()}  # bytes waiting to be written into that master
CAP = 1 << 20
print("ready", flush=True)
while True:
    readers = [m for m in peer if len(pending[peer[m]]) < CAP]
    writers = [m for m in peer if pending[m]]
    r, w, _ = select.select(readers, writers, [])
    for m in r:
        try:
            data = os.read(m, 65536)
        except BlockingIOError:
            continue
        pending[peer[m]] += data
    for m in w:
        try:
            n = os.write(m, pending[m])
        except BlockingIOError:
            continue
        del pending[m][:n]
`;

export interface PtyBridge {
  /** The two ends (symlinks to /dev/pts/N): give one to each proxy as `file:PATH`. */
  readonly ends: [string, string];
  readonly process: Managed;
  /** Ends the bridge: both ptys hang up. */
  stop(): Promise<void>;
}

export async function startPtyBridge(endA: string, endB: string, timeoutMs = 5000): Promise<PtyBridge> {
  const proc = spawnManaged('python3', ['-c', BRIDGE, endA, endB]);
  try {
    await waitForLine(proc, 'ready', timeoutMs);
  } catch (err) {
    await proc.stop();
    throw new Error(`pty bridge: ${(err as Error).message}`);
  }
  return { ends: [endA, endB], process: proc, stop: () => proc.stop() };
}
