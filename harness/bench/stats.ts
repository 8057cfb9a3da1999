// Order statistics for the benchmark (the same definitions the C client uses).

/** Median of an ascending array (mean of the two middle values for an even length); NaN when empty. */
export function median(sorted: readonly number[]): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  return n % 2 === 1 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
}

/** 99th percentile of an ascending array by nearest rank; NaN when empty. */
export function p99(sorted: readonly number[]): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  return sorted[Math.max(0, Math.ceil((n * 99) / 100) - 1)];
}

/** Median of unsorted values, ignoring nulls; null when there are none. */
export function medianOf(values: ReadonlyArray<number | null>): number | null {
  const v = values.filter((x): x is number => x !== null).sort((a, b) => a - b);
  return v.length === 0 ? null : median(v);
}

/** Largest of the values, ignoring nulls; null when there are none. */
export function maxOf(values: ReadonlyArray<number | null>): number | null {
  const v = values.filter((x): x is number => x !== null);
  return v.length === 0 ? null : Math.max(...v);
}
