// Loads the native addon once: the raw object, for the typed wrapper (index.ts) and the tests' entry (test-only.ts) only.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { WayvioNative } from './wayvio_native';

function packageRoot(): string {
  for (let dir = __dirname; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'binding.gyp'))) return dir;
    if (dirname(dir) === dir) throw new Error(`wayvio: no package root (package.json + binding.gyp) above ${__dirname}`);
  }
}

function load(): WayvioNative {
  const root = packageRoot();
  for (const build of ['Release', 'Debug']) {
    const file = join(root, 'build', build, 'wayvio_native.node');
    if (existsSync(file)) return require(file) as WayvioNative;
  }
  throw new Error(`wayvio: native addon not built in ${root}/build; run \`npm install\` (node-gyp rebuild)`);
}

export const native: WayvioNative = load();
