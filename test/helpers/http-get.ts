// A one-shot HTTP GET without keep-alive (no pooled sockets left for the fd-leak check).
import { get } from 'node:http';

export interface HttpResult {
  status: number;
  type: string;
  body: string;
}

export function httpGet(url: string, timeoutMs = 5000): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = get(url, { agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        // resolve once our socket is closed too, so that no fd outlives the request
        const done = (): void => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), body });
        const sock = req.socket;
        if (sock === null || sock.destroyed) done();
        else {
          sock.once('close', done);
          sock.destroy();
        }
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

/** The value of one Prometheus sample, e.g. metric('wayvio_clients') or metric('x_total{direction="in"}'). */
export function metric(text: string, name: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const sp = line.lastIndexOf(' ');
    if (line.slice(0, sp) === name) return Number(line.slice(sp + 1));
  }
  return undefined;
}
