// Failures that mean the host ran short of fds or memory: a condition of this machine, not the peer's fault.

const SHORT_OF: Record<string, string> = {
  EMFILE: 'host out of fds (EMFILE, the process limit)',
  ENFILE: 'host out of fds (ENFILE, the system limit)',
  ENOMEM: 'host out of memory (ENOMEM)',
  ENOSPC: 'host out of space (ENOSPC)',
};

export class HostShortage extends Error {
  constructor(readonly code: string, doing: string, cause: Error) {
    super(`${SHORT_OF[code]} while ${doing}: ${cause.message}`);
    this.name = 'HostShortage';
  }

  /** `e` as a HostShortage when its errno code says the host ran short (EMFILE, ENFILE, ENOMEM, ENOSPC), else null. */
  static from(e: unknown, doing: string): HostShortage | null {
    if (e instanceof HostShortage) return e;
    const code = e instanceof Error ? (e as Error & { code?: unknown }).code : undefined;
    return typeof code === 'string' && code in SHORT_OF ? new HostShortage(code, doing, e as Error) : null;
  }
}
