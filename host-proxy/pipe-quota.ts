// The guest's bound on pipe bytes it makes the host hold: PIPE_DATA queued for pipes whose reader has not taken it.
import type { PipeBudget } from '../link/pipe-bridge';
import { QuotaError } from './host-pools';

/** Shared by every client of the guest (all its channels), like ShmQuota. */
export class PipeQuota implements PipeBudget {
  used = 0;
  constructor(readonly max: number) {}

  /** Throws QuotaError when `bytes` more would pass --max-pipe-bytes. */
  charge(bytes: number): void {
    if (this.used + bytes > this.max) {
      throw new QuotaError('max-pipe-bytes', `pipe buffer quota exceeded: ${this.used} + ${bytes} > ${this.max} bytes written to pipes and not yet read (--max-pipe-bytes)`);
    }
    this.used += bytes;
  }

  release(bytes: number): void {
    this.used -= bytes;
  }
}
