// Bytes per pixel of the wl_shm formats a renderer reads, to check a buffer's stride against its width.

/** The DRM fourcc of four characters, as wl_shm.format spells every format but argb8888 (0) and xrgb8888 (1). */
function fourcc(code: string): number {
  return (code.charCodeAt(0) | (code.charCodeAt(1) << 8) | (code.charCodeAt(2) << 16) | (code.charCodeAt(3) << 24)) >>> 0;
}

const BYTES: ReadonlyMap<number, number> = new Map([
  ...[0, 1].map((f) => [f, 4] as const),
  ...['AR24', 'XR24', 'AB24', 'XB24', 'RA24', 'RX24', 'BA24', 'BX24', 'AR30', 'XR30', 'AB30', 'XB30', 'RA30', 'RX30', 'BA30', 'BX30'].map((c) => [fourcc(c), 4] as const),
  ...['RG16', 'BG16', 'AR12', 'XR12', 'AB12', 'XB12', 'RA12', 'RX12', 'BA12', 'BX12', 'AR15', 'XR15', 'AB15', 'XB15', 'RA15', 'RX15', 'BA15', 'BX15', 'GR88', 'RG88', 'R16 '].map((c) => [fourcc(c), 2] as const),
  ...['RG24', 'BG24'].map((c) => [fourcc(c), 3] as const),
  ...['C8  ', 'R8  ', 'RGB8', 'BGR8'].map((c) => [fourcc(c), 1] as const),
  ...['AR4H', 'XR4H', 'AB4H', 'XB4H', 'AR48', 'XR48', 'AB48', 'XB48'].map((c) => [fourcc(c), 8] as const),
]);

/**
 * Bytes one pixel of the first plane takes; 1 for a format not listed (YUV and the like), which is the rule
 * libwayland-server itself applies (stride >= width).
 */
export function bytesPerPixel(format: number): number {
  return BYTES.get(format) ?? 1;
}
