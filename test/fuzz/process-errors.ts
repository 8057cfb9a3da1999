// Collects uncaught exceptions and unhandled rejections of this process, so a fuzz test fails on them (instead of dying).
export interface ProcessErrors {
  readonly list: string[];
}

export function watchProcessErrors(): ProcessErrors {
  const list: string[] = [];
  process.on('uncaughtException', (e) => list.push(`uncaught exception: ${e.stack ?? String(e)}`));
  process.on('unhandledRejection', (e) => list.push(`unhandled rejection: ${(e as Error)?.stack ?? String(e)}`));
  return { list };
}
