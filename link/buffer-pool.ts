// Reusable buffers for bytes handed to the channel; the caller returns each once the stream has flushed it.

const MIN_CLASS = 64 * 1024;

export class BufferPool {
  private readonly free = new Map<number, Buffer[]>();
  private pooledBytes = 0;

  constructor(private readonly maxPooledBytes = 64 * 1024 * 1024) {}

  /** A buffer of at least `size` bytes (contents undefined). */
  acquire(size: number): Buffer {
    let cls = MIN_CLASS;
    while (cls < size) cls *= 2;
    const list = this.free.get(cls);
    const buf = list?.pop();
    if (buf !== undefined) {
      this.pooledBytes -= cls;
      return buf;
    }
    return Buffer.allocUnsafeSlow(cls);
  }

  release(buf: Buffer): void {
    const cls = buf.byteLength;
    if (this.pooledBytes + cls > this.maxPooledBytes) return;
    let list = this.free.get(cls);
    if (list === undefined) this.free.set(cls, (list = []));
    list.push(buf);
    this.pooledBytes += cls;
  }
}
