// The bytes of a run of Wayland messages after some were dropped or replaced: views of the original wherever possible.

export class EditedMessages {
  private readonly parts: Uint8Array[] = [];
  /** Start of the part of `data` not yet taken into `parts`. */
  private kept = 0;

  constructor(private readonly data: Uint8Array) {}

  /** The message at data[start, end) goes out as `replacement`, or not at all when it is null. */
  replace(start: number, end: number, replacement: Uint8Array | null): void {
    if (start > this.kept) this.parts.push(this.data.subarray(this.kept, start));
    if (replacement !== null) this.parts.push(replacement);
    this.kept = end;
  }

  /** Everything, in order; empty when every message was dropped. */
  bytes(): Uint8Array {
    const parts = this.kept < this.data.byteLength ? [...this.parts, this.data.subarray(this.kept)] : this.parts;
    if (parts.length === 1) return parts[0];
    return Buffer.concat(parts);
  }
}
