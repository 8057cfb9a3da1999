// What the benchmark measures: the client workloads (window size, damage, round trips, client count) and their lengths.

export interface Scenario {
  readonly id: string;
  readonly title: string;
  /** wayvio-test-client bench arguments, without --frames/--roundtrips, --warmup, --gate, --latencies. */
  readonly args: readonly string[];
  /** 'frames': commits with a sync after each; 'roundtrips': bare wl_display.sync. */
  readonly unit: 'frames' | 'roundtrips';
  /** Clients running at once (each does `count` timed frames). */
  readonly clients: number;
  /** Timed frames (or round trips) per client, full run and --quick. */
  readonly count: number;
  readonly quickCount: number;
  /** Untimed frames first (pool creation, the first full frame, JIT warm-up of the proxies). */
  readonly warmup: number;
}

const HD = ['--width', '1920', '--height', '1080'];

export const SCENARIOS: readonly Scenario[] = [
  { id: 'full-1080p', title: '1920x1080, full damage', args: [...HD, '--damage', 'full'], unit: 'frames', clients: 1, count: 300, quickCount: 20, warmup: 10 },
  { id: 'rows10-1080p', title: '1920x1080, 10% of rows', args: [...HD, '--damage', 'rows:10'], unit: 'frames', clients: 1, count: 1500, quickCount: 60, warmup: 20 },
  { id: 'patch-64', title: '64x64 patch of 1920x1080', args: [...HD, '--damage', 'patch:64x64'], unit: 'frames', clients: 1, count: 5000, quickCount: 200, warmup: 50 },
  {
    id: 'patch-64-overdamage', title: '64x64 patch changed, all 1920x1080 damaged', args: [...HD, '--damage', 'patch:64x64', '--report-damage', 'full'],
    unit: 'frames', clients: 1, count: 1000, quickCount: 60, warmup: 20,
  },
  { id: 'roundtrips', title: 'wl_display.sync round trips', args: [], unit: 'roundtrips', clients: 1, count: 10000, quickCount: 300, warmup: 200 },
  { id: 'clients-50', title: '50 clients, 256x256 full damage', args: ['--width', '256', '--height', '256', '--damage', 'full'], unit: 'frames', clients: 50, count: 200, quickCount: 10, warmup: 5 },
];

/** The client's full argument list for one run. */
export function clientArgs(s: Scenario, quick: boolean): string[] {
  const n = String(quick ? s.quickCount : s.count);
  return ['bench', ...s.args, s.unit === 'frames' ? '--frames' : '--roundtrips', n, '--warmup', String(s.warmup), '--gate', '1', '--latencies', '1'];
}
