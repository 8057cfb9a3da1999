// The VM test's boot files: Debian's kernel, the virtio/9p modules it needs, and an initramfs, cached in build/vm/.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '../../harness/test-clients';

const run = promisify(execFile);

/** Modules the guest loads (their dependencies are added in load order from each module's `depends=`). */
export const GUEST_MODULES = ['virtio_pci', 'virtio_console', '9pnet_virtio', '9p'];
/** The metapackage that names the current kernel; WAYVIO_VM_KERNEL_PACKAGE picks a concrete one instead. */
const KERNEL_METAPACKAGE = 'linux-image-amd64';

export interface VmAssets {
  /** e.g. `6.1.0-56-amd64` (what `uname -r` says in the guest). */
  kernelRelease: string;
  /** The cache directory of this kernel: build/vm/kernel-RELEASE_VERSION. */
  dir: string;
  /** The uncompressed vmlinux (QEMU boots it through its PVH entry) when it could be extracted, else the bzImage. */
  kernel: string;
  initramfs: string;
  /** True when something was downloaded or built on this call. */
  built: boolean;
}

/**
 * build/vm in the repository (gitignored through build/), or $WAYVIO_VM_CACHE. Note that `node-gyp rebuild`
 * (run by `npm ci`) deletes build/, so the kernel is downloaded again after each `npm ci`.
 */
export function vmCacheDir(): string {
  return process.env.WAYVIO_VM_CACHE || join(repoRoot(), 'build', 'vm');
}

/**
 * Returns the kernel and an initramfs whose /init is test/vm/guest-init.sh. The kernel is keyed by its release
 * and package version; the initramfs also by the init script and busybox, so editing either rebuilds it.
 */
export async function prepareVmAssets(log: (line: string) => void = () => undefined): Promise<VmAssets> {
  const cache = vmCacheDir();
  mkdirSync(cache, { recursive: true });
  let built = false;
  const pkg = await currentKernelPackage(cache);
  const kdir = join(cache, `kernel-${pkg.release}_${pkg.version}`);
  if (!existsSync(join(kdir, 'complete'))) {
    log(`downloading ${pkg.name} ${pkg.version} into ${kdir}`);
    await fetchKernel(pkg, kdir);
    built = true;
  }
  const init = readFileSync(join(repoRoot(), 'test', 'vm', 'guest-init.sh'));
  const busybox = '/bin/busybox';
  if (!isStaticElf(readFileSync(busybox))) throw new Error(`${busybox} is not statically linked: install busybox-static`);
  const key = createHash('sha256').update(init).update(readFileSync(busybox)).update(readFileSync(join(kdir, 'modules', 'order'))).digest('hex').slice(0, 16);
  const initramfs = join(kdir, `initramfs-${key}.cpio`);
  if (!existsSync(initramfs)) {
    log(`building ${initramfs}`);
    await buildInitramfs(kdir, init, busybox, initramfs);
    for (const old of readdirSync(kdir).filter((f) => /^initramfs-.*\.cpio$/.test(f) && join(kdir, f) !== initramfs)) rmSync(join(kdir, old), { force: true });
    built = true;
  }
  let kernel = join(kdir, 'vmlinux');
  if (!existsSync(kernel)) {
    try {
      await extractVmlinux(join(kdir, 'vmlinuz'), kernel);
      built = true;
    } catch (err) {
      log(`booting the bzImage (slower under TCG): ${(err as Error).message}`);
      kernel = join(kdir, 'vmlinuz');
    }
  }
  return { kernelRelease: pkg.release, dir: kdir, kernel, initramfs, built };
}

interface KernelPackage {
  name: string;
  version: string;
  release: string;
}

/** The concrete linux-image package that linux-image-amd64 depends on, from the local apt lists. */
async function currentKernelPackage(cache: string): Promise<KernelPackage> {
  const wanted = process.env.WAYVIO_VM_KERNEL_PACKAGE;
  let name: string | undefined = wanted;
  let version: string | undefined;
  try {
    if (name === undefined) {
      const meta = await aptShow(KERNEL_METAPACKAGE);
      name = /^linux-image-[^\s,(]+/.exec(meta.Depends ?? '')?.[0];
    }
    if (name !== undefined) version = (await aptShow(name)).Version;
  } catch {
    // no apt lists (apt-get update never ran): fall back to a kernel cached before
  }
  if (name !== undefined && version !== undefined) return { name, version, release: name.replace(/^linux-image-/, '') };
  const cached = readdirSync(cache)
    .filter((d) => d.startsWith('kernel-') && existsSync(join(cache, d, 'complete')))
    .map((d) => ({ d, mtime: statSync(join(cache, d)).mtimeMs }))
    .sort((a, b) => b.mtime - a.mtime)[0];
  if (cached !== undefined) {
    const [release, ver] = cached.d.slice('kernel-'.length).split('_');
    return { name: `linux-image-${release}`, version: ver, release };
  }
  throw new Error(`cannot tell which kernel to use: apt-cache knows no ${wanted ?? KERNEL_METAPACKAGE} (run apt-get update) and nothing is cached in ${cache}`);
}

async function aptShow(pkg: string): Promise<Record<string, string>> {
  const { stdout } = await run('apt-cache', ['show', '--no-all-versions', pkg], { maxBuffer: 16 << 20 });
  const fields: Record<string, string> = {};
  for (const m of stdout.matchAll(/^([A-Za-z-]+): (.*)$/gm)) fields[m[1]] ??= m[2];
  if (fields.Package === undefined) throw new Error(`apt-cache show ${pkg}: nothing`);
  return fields;
}

/** apt-get download + dpkg -x into a temp dir, then keeps vmlinuz and the modules the guest needs. */
async function fetchKernel(pkg: KernelPackage, kdir: string): Promise<void> {
  const work = mkdtempSync(`${kdir}.tmp-`);
  try {
    const download = (): Promise<unknown> =>
      run('apt-get', ['download', '-q', '-o', 'APT::Sandbox::User=root', `${pkg.name}=${pkg.version}`], { cwd: work, maxBuffer: 16 << 20 });
    try {
      await download();
    } catch {
      // the lists may name a version the mirror no longer has
      await run('apt-get', ['update', '-q', '-o', 'DPkg::Lock::Timeout=600'], { maxBuffer: 16 << 20 });
      await download();
    }
    const deb = readdirSync(work).find((f) => f.endsWith('.deb'));
    if (deb === undefined) throw new Error(`apt-get download ${pkg.name} left no .deb`);
    const root = join(work, 'root');
    await run('dpkg', ['-x', join(work, deb), root]);
    const staged = join(work, 'kernel');
    mkdirSync(join(staged, 'modules'), { recursive: true });
    copyFileSync(join(root, 'boot', `vmlinuz-${pkg.release}`), join(staged, 'vmlinuz'));
    const order = moduleLoadOrder(join(root, 'lib', 'modules', pkg.release), GUEST_MODULES);
    for (const m of order) copyFileSync(m.path, join(staged, 'modules', `${m.name}.ko`));
    writeFileSync(join(staged, 'modules', 'order'), order.map((m) => m.name).join('\n') + '\n');
    writeFileSync(join(staged, 'complete'), `${pkg.name} ${pkg.version}\n`);
    rmSync(kdir, { recursive: true, force: true });
    renameSync(staged, kdir);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** The `key=value` strings of an ELF object's .modinfo section. */
export function readModinfo(elf: Buffer): Map<string, string[]> {
  if (elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 2 || elf[5] !== 1) throw new Error('not a little-endian ELF64 object');
  const shoff = Number(elf.readBigUInt64LE(0x28));
  const shentsize = elf.readUInt16LE(0x3a);
  const shnum = elf.readUInt16LE(0x3c);
  const shstrndx = elf.readUInt16LE(0x3e);
  const section = (i: number): { name: number; offset: number; size: number } => {
    const at = shoff + i * shentsize;
    return { name: elf.readUInt32LE(at), offset: Number(elf.readBigUInt64LE(at + 24)), size: Number(elf.readBigUInt64LE(at + 32)) };
  };
  const strtab = section(shstrndx);
  const out = new Map<string, string[]>();
  for (let i = 0; i < shnum; i++) {
    const s = section(i);
    const nameEnd = elf.indexOf(0, strtab.offset + s.name);
    if (elf.toString('latin1', strtab.offset + s.name, nameEnd) !== '.modinfo') continue;
    for (const entry of elf.toString('utf8', s.offset, s.offset + s.size).split('\0')) {
      const eq = entry.indexOf('=');
      if (eq <= 0) continue;
      const key = entry.slice(0, eq);
      out.set(key, [...(out.get(key) ?? []), entry.slice(eq + 1)]);
    }
  }
  return out;
}

/** The modules `wanted` and everything they depend on, each after its dependencies (what modprobe would do). */
export function moduleLoadOrder(modulesDir: string, wanted: readonly string[]): { name: string; path: string }[] {
  const index = new Map<string, string>();
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(dir, e.name));
      else if (e.name.endsWith('.ko')) index.set(e.name.slice(0, -3).replace(/-/g, '_'), join(dir, e.name));
    }
  };
  walk(modulesDir);
  const order: { name: string; path: string }[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, chain: string[]): void => {
    const key = name.replace(/-/g, '_');
    if (state.get(key) === 'done') return;
    if (state.get(key) === 'visiting') throw new Error(`module dependency cycle: ${[...chain, key].join(' -> ')}`);
    const path = index.get(key);
    if (path === undefined) throw new Error(`module ${key} (needed by ${chain.join(' -> ') || 'the guest'}) is not in ${modulesDir}`);
    state.set(key, 'visiting');
    const depends = readModinfo(readFileSync(path)).get('depends')?.[0] ?? '';
    for (const dep of depends.split(',').filter(Boolean)) visit(dep, [...chain, key]);
    state.set(key, 'done');
    order.push({ name: key, path });
  };
  for (const w of wanted) visit(w, []);
  return order;
}

/**
 * Unpacks the ELF vmlinux from a bzImage (the payload that its setup header locates) when it has a PVH entry
 * note. QEMU then starts it directly: under TCG that skips about 4 s of the kernel decompressing itself.
 */
async function extractVmlinux(bzImage: string, out: string): Promise<void> {
  const image = readFileSync(bzImage);
  if (image.toString('latin1', 0x202, 0x206) !== 'HdrS') throw new Error(`${bzImage} is not a bzImage`);
  const setupSects = image[0x1f1] || 4;
  const start = (setupSects + 1) * 512 + image.readUInt32LE(0x248);
  const payload = image.subarray(start, start + image.readUInt32LE(0x24c));
  const tools: [Buffer, string, string[]][] = [
    [Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), 'xz', ['-dc', '--single-stream']],
    [Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), 'zstd', ['-dcq']],
    [Buffer.from([0x1f, 0x8b]), 'gzip', ['-dc']],
  ];
  const tool = tools.find(([magic]) => payload.subarray(0, magic.length).equals(magic));
  if (tool === undefined) throw new Error(`${bzImage}: payload compressed in a way this harness does not unpack`);
  const tmp = `${out}.tmp-${process.pid}`;
  try {
    await new Promise<void>((resolve, reject) => {
      const child = execFile(tool[1], tool[2], { encoding: 'buffer', maxBuffer: 512 << 20 }, (err, stdout) => {
        if (err) return reject(new Error(`${tool[1]} ${tool[2].join(' ')}: ${err.message}`));
        try {
          writeFileSync(tmp, stdout);
          resolve();
        } catch (e) {
          reject(e as Error);
        }
      });
      child.stdin?.end(payload);
    });
    const elf = readFileSync(tmp);
    if (!hasPvhNote(elf)) throw new Error('the kernel has no PVH entry (CONFIG_PVH)');
    renameSync(tmp, out);
  } finally {
    rmSync(tmp, { force: true });
  }
}

/** True for an ELF64 executable without a program interpreter (PT_INTERP). */
function isStaticElf(elf: Buffer): boolean {
  if (elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 2 || elf[5] !== 1) return false;
  const phoff = Number(elf.readBigUInt64LE(0x20));
  const phentsize = elf.readUInt16LE(0x36);
  for (let i = 0; i < elf.readUInt16LE(0x38); i++) if (elf.readUInt32LE(phoff + i * phentsize) === 3) return false;
  return true;
}

/** True when an ELF64 file has a Xen note of type XEN_ELFNOTE_PHYS32_ENTRY (18), which QEMU's PVH boot needs. */
export function hasPvhNote(elf: Buffer): boolean {
  if (elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 2 || elf[5] !== 1) return false;
  const phoff = Number(elf.readBigUInt64LE(0x20));
  const phentsize = elf.readUInt16LE(0x36);
  const phnum = elf.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * phentsize;
    if (elf.readUInt32LE(ph) !== 4) continue; // PT_NOTE
    const offset = Number(elf.readBigUInt64LE(ph + 8));
    const end = offset + Number(elf.readBigUInt64LE(ph + 32));
    for (let at = offset; at + 12 <= end; ) {
      const namesz = elf.readUInt32LE(at);
      const descsz = elf.readUInt32LE(at + 4);
      const type = elf.readUInt32LE(at + 8);
      const name = elf.toString('latin1', at + 12, at + 12 + Math.max(0, namesz - 1));
      if (name === 'Xen' && type === 18) return true;
      at += 12 + Math.ceil(namesz / 4) * 4 + Math.ceil(descsz / 4) * 4;
    }
  }
  return false;
}

/** A newc cpio archive (busybox cpio) with /init, a static busybox and the modules. */
async function buildInitramfs(kdir: string, init: Buffer, busybox: string, out: string): Promise<void> {
  const work = mkdtempSync(`${out}.tmp-`);
  try {
    const root = join(work, 'root');
    for (const d of ['bin', 'dev', 'proc', 'sys', 'host', 'modules']) mkdirSync(join(root, d), { recursive: true });
    writeFileSync(join(root, 'init'), init, { mode: 0o755 });
    copyFileSync(busybox, join(root, 'bin', 'busybox'));
    for (const f of readdirSync(join(kdir, 'modules'))) copyFileSync(join(kdir, 'modules', f), join(root, 'modules', f));
    const archive = join(work, 'initramfs.cpio');
    await run('sh', ['-c', 'find . | LC_ALL=C sort | busybox cpio -o -H newc > "$1"', 'sh', archive], { cwd: root });
    renameSync(archive, out);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
