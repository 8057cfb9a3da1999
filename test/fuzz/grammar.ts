// Grammar-aware request sequences: seeded, plausible use of the default globals (surfaces with roles, buffers in real
// memfd pools, popups with positioners, sub-surfaces, requests picked from the protocol tables) with one wrong step.
import { DEFAULT_OFFERED } from '../../protocol/default-offer';
import { reachableInterfaces } from '../../protocol/reachable-interfaces';
import type { ArgSpec, InterfaceSpec, MessageSpec } from '../../protocol/types';
import { Prng } from '../helpers/prng';
import type { Arg, CrashSequence, Step } from './crash-sequences';
import { registry } from './client-streams';

/** The kinds of wrong step a sequence may carry. */
export const WRONG_STEPS = ['wrong-interface', 'destroyed-object', 'enum-out-of-range', 'order-violation', 'wrong-role'] as const;
export type WrongStep = (typeof WRONG_STEPS)[number];

export interface GrammarSequence extends CrashSequence {
  seed: number;
  /** Index in `steps` of the wrong step, and what it is (none when no wrong step fit). */
  wrongAt: number;
  wrong: WrongStep | 'none';
}

const REACHABLE = new Set(reachableInterfaces(registry, DEFAULT_OFFERED));

/** Requests the generator never picks at random: the harness drives them itself, or they only disconnect. */
const DRIVEN = new Set(['wl_display.sync', 'wl_display.get_registry', 'wl_registry.bind', 'wl_shm.create_pool', 'wl_shm_pool.create_buffer',
  'xdg_surface.ack_configure']);

interface Obj {
  name: string;
  iface: string;
  version: number;
  alive: boolean;
}

interface SurfaceState {
  role: 'none' | 'xdg' | 'toplevel' | 'popup' | 'sub' | 'cursor';
  xs?: string;
  configured: boolean;
}

const STRINGS = ['fuzz', '', 'org.example.Fuzz', 'x'.repeat(200), 'ünïcødé', 'text/plain'];

/** Builds one sequence; `advertised` is the compositor's globals (interface → version) as its registry announced them. */
export class GrammarBuilder {
  private readonly rng: Prng;
  private readonly steps: Step[] = [];
  private readonly objs = new Map<string, Obj>();
  private readonly surfaces = new Map<string, SurfaceState>();
  private readonly pools = new Map<string, number>();
  private next = 0;

  constructor(readonly seed: number, private readonly advertised: ReadonlyMap<string, number>) {
    this.rng = new Prng(seed);
  }

  build(length: number): GrammarSequence {
    this.bindGlobals();
    const wrongAt = this.rng.below(length + 1);
    let wrong: WrongStep | 'none' = 'none';
    let wrongIndex = -1;
    for (let i = 0; i < length; i++) {
      if (i === wrongAt) {
        const start = this.steps.length;
        wrong = this.wrongStep();
        wrongIndex = wrong === 'none' ? -1 : start + Math.max(0, this.steps.length - start - 1);
      }
      this.action();
    }
    if (wrongAt === length) {
      const start = this.steps.length;
      wrong = this.wrongStep();
      wrongIndex = wrong === 'none' ? -1 : start + Math.max(0, this.steps.length - start - 1);
    }
    const seedText = `0x${(this.seed >>> 0).toString(16)}`;
    return { name: `grammar-${seedText}`, summary: `generated from seed ${seedText}; wrong step: ${wrong}`, steps: this.steps, seed: this.seed >>> 0, wrongAt: wrongIndex, wrong };
  }

  // ---- objects ----

  private fresh(iface: string, version: number): string {
    const name = `${iface}_${this.next++}`;
    this.objs.set(name, { name, iface, version, alive: true });
    return name;
  }

  private live(iface?: string, not?: string): Obj[] {
    return [...this.objs.values()].filter((o) => o.alive && (iface === undefined || o.iface === iface) && o.iface !== not);
  }

  private one(iface: string): string | undefined {
    const l = this.live(iface);
    return l.length === 0 ? undefined : this.rng.pick(l).name;
  }

  /** Names created for a request whose arguments did not all fit: dropped, never sent. */
  private abandon(args: Arg[]): false {
    for (const a of args) if (a !== null && typeof a === 'object' && 'new' in a) this.objs.delete(a.new);
    return false;
  }

  private push(obj: string, req: string, args: Arg[] = []): void {
    this.steps.push({ obj, req, args });
    const o = this.objs.get(obj);
    const spec = o === undefined ? undefined : registry.interface(o.iface)?.requests.find((r) => r.name === req);
    if (o !== undefined && spec?.destructor) o.alive = false;
  }

  private bindGlobals(): void {
    const must = ['wl_compositor', 'wl_shm', 'xdg_wm_base', 'wl_subcompositor'];
    for (const g of DEFAULT_OFFERED) {
      const adv = this.advertised.get(g);
      const known = registry.interface(g)?.version ?? 0;
      if (adv === undefined || known === 0) continue;
      if (!must.includes(g) && this.rng.below(3) !== 0) continue;
      const top = Math.min(adv, known);
      const version = this.rng.below(4) === 0 ? 1 + this.rng.below(top) : top;
      const name = this.fresh(g, version);
      this.steps.push({ bind: g, version, as: name });
    }
  }

  // ---- plausible actions ----

  private action(): void {
    const r = this.rng.below(100);
    if (r < 14) this.toplevel();
    else if (r < 22) this.popup();
    else if (r < 32) this.subsurface();
    else if (r < 46) this.commitBuffer();
    else if (r < 54) this.destroySomething();
    else if (r < 58) this.steps.push({ roundtrip: true });
    else this.randomRequest();
  }

  private surface(): string | undefined {
    const comp = this.one('wl_compositor');
    if (comp === undefined) return undefined;
    const s = this.fresh('wl_surface', this.objs.get(comp)!.version);
    this.push(comp, 'create_surface', [{ new: s }]);
    this.surfaces.set(s, { role: 'none', configured: false });
    return s;
  }

  private xdgRole(s: string, role: 'toplevel' | 'popup', parentXs: string | null): boolean {
    const wm = this.one('xdg_wm_base');
    if (wm === undefined) return false;
    const v = this.objs.get(wm)!.version;
    const xs = this.fresh('xdg_surface', v);
    this.push(wm, 'get_xdg_surface', [{ new: xs }, { ref: s }]);
    if (role === 'toplevel') {
      this.push(xs, 'get_toplevel', [{ new: this.fresh('xdg_toplevel', v) }]);
    } else {
      const pos = this.positioner(wm);
      this.push(xs, 'get_popup', [{ new: this.fresh('xdg_popup', v) }, parentXs === null ? null : { ref: parentXs }, { ref: pos }]);
    }
    this.surfaces.set(s, { role, xs, configured: false });
    this.push(s, 'commit');
    this.steps.push({ awaitConfigure: xs });
    this.push(xs, 'ack_configure', [{ configureSerial: xs }]);
    this.surfaces.get(s)!.configured = true;
    return true;
  }

  private positioner(wm: string): string {
    const pos = this.fresh('xdg_positioner', this.objs.get(wm)!.version);
    this.push(wm, 'create_positioner', [{ new: pos }]);
    this.push(pos, 'set_size', [1 + this.rng.below(64), 1 + this.rng.below(64)]);
    this.push(pos, 'set_anchor_rect', [this.rng.below(32), this.rng.below(32), 1 + this.rng.below(16), 1 + this.rng.below(16)]);
    if (this.rng.below(2) === 0) this.push(pos, 'set_anchor', [this.rng.below(9)]);
    if (this.rng.below(2) === 0) this.push(pos, 'set_gravity', [this.rng.below(9)]);
    return pos;
  }

  private toplevel(): void {
    const s = this.surface();
    if (s === undefined || !this.xdgRole(s, 'toplevel', null)) return;
    this.commitBuffer(s);
  }

  private mappedXdg(): string | undefined {
    const c = [...this.surfaces.entries()].filter(([n, st]) => this.objs.get(n)!.alive && st.xs !== undefined && this.objs.get(st.xs)!.alive && st.configured);
    return c.length === 0 ? undefined : this.rng.pick(c)[1].xs;
  }

  private popup(): void {
    const parent = this.mappedXdg();
    if (parent === undefined) return this.toplevel();
    const s = this.surface();
    if (s === undefined || !this.xdgRole(s, 'popup', parent)) return;
    this.commitBuffer(s);
  }

  private subsurface(): void {
    const sub = this.one('wl_subcompositor');
    const parents = this.live('wl_surface');
    if (sub === undefined || parents.length === 0) return;
    const parent = this.rng.pick(parents).name;
    const s = this.surface()!;
    this.push(sub, 'get_subsurface', [{ new: this.fresh('wl_subsurface', this.objs.get(sub)!.version) }, { ref: s }, { ref: parent }]);
    this.surfaces.get(s)!.role = 'sub';
    if (this.rng.below(2) === 0) this.push(this.live('wl_subsurface').pop()!.name, 'set_position', [this.rng.below(40) - 8, this.rng.below(40) - 8]);
    this.commitBuffer(s);
    if (this.rng.below(2) === 0) this.push(parent, 'commit');
  }

  /** A wl_buffer w×h in a fresh memfd pool that holds it. */
  private buffer(): string | undefined {
    const shm = this.one('wl_shm');
    if (shm === undefined) return undefined;
    const w = 1 + this.rng.below(96);
    const h = 1 + this.rng.below(96);
    const stride = w * 4 + 4 * this.rng.below(2);
    const size = stride * h + 4096 * this.rng.below(2);
    const pool = this.fresh('wl_shm_pool', 1);
    this.push(shm, 'create_pool', [{ new: pool }, { memfd: size }, size]);
    this.pools.set(pool, size);
    const buf = this.fresh('wl_buffer', 1);
    this.push(pool, 'create_buffer', [{ new: buf }, 0, w, h, stride, this.rng.below(2)]);
    if (this.rng.below(2) === 0) this.push(pool, 'destroy');
    return buf;
  }

  private commitBuffer(target?: string): void {
    const candidates = this.live('wl_surface').filter((o) => {
      const st = this.surfaces.get(o.name);
      return st !== undefined && (st.role !== 'toplevel' && st.role !== 'popup' ? st.role !== 'xdg' : st.configured);
    });
    const s = target ?? (candidates.length === 0 ? undefined : this.rng.pick(candidates).name);
    if (s === undefined) return;
    const buf = this.buffer();
    if (buf === undefined) return;
    this.push(s, 'attach', [{ ref: buf }, 0, 0]);
    const damage = this.objs.get(s)!.version >= 4 && this.rng.below(2) === 0 ? 'damage_buffer' : 'damage';
    this.push(s, damage, [0, 0, 1 + this.rng.below(128), 1 + this.rng.below(128)]);
    this.push(s, 'commit');
  }

  private destroySomething(): void {
    const withDestructor = this.live().filter((o) => o.iface !== 'wl_display' && registry.interface(o.iface)?.requests.some((r) => r.destructor && r.args.length === 0));
    if (withDestructor.length === 0) return;
    const o = this.rng.pick(withDestructor);
    const req = registry.interface(o.iface)!.requests.find((r) => r.destructor && r.args.length === 0)!;
    this.push(o.name, req.name);
  }

  /** A request of a live object's interface, arguments from what exists. */
  private randomRequest(): void {
    const objs = this.live().filter((o) => o.iface !== 'wl_display' && o.iface !== 'wl_registry' && o.iface !== 'wl_callback');
    if (objs.length === 0) return;
    const o = this.rng.pick(objs);
    const spec = registry.interface(o.iface)!;
    const reqs = spec.requests.filter((r) => r.since <= o.version && !DRIVEN.has(`${o.iface}.${r.name}`) && r.args.every((a) => a.type !== 'array') &&
      r.args.every((a) => a.type !== 'new_id' || (a.interface !== undefined && REACHABLE.has(a.interface))));
    if (reqs.length === 0) return;
    const req = this.rng.pick(reqs);
    const args: Arg[] = [];
    for (const a of req.args) {
      const v = this.argFor(spec, a, o);
      if (v === undefined) {
        this.abandon(args);
        return;
      }
      args.push(v);
    }
    this.push(o.name, req.name, args);
    if (o.iface === 'wl_subcompositor' && req.name === 'get_subsurface') {
      const st = this.surfaces.get((args[1] as { ref: string }).ref);
      if (st !== undefined) st.role = 'sub';
    }
  }

  private argFor(spec: InterfaceSpec, a: ArgSpec, parent: Obj): Arg | undefined {
    switch (a.type) {
      case 'int': return this.rng.below(8) === 0 ? -this.rng.below(16) : this.rng.below(64);
      case 'fixed': return (this.rng.below(256) - 32) / 4;
      case 'string': return this.rng.pick(STRINGS);
      case 'fd': return { memfd: 4096 * (1 + this.rng.below(4)) };
      case 'new_id': {
        const iface = a.interface!;
        if (iface === 'wl_surface') {
          const s = this.fresh(iface, parent.version);
          this.surfaces.set(s, { role: 'none', configured: false });
          return { new: s };
        }
        return { new: this.fresh(iface, parent.version) };
      }
      case 'object': {
        const l = this.live(a.interface);
        if (a.nullable && (l.length === 0 || this.rng.below(4) === 0)) return null;
        return l.length === 0 ? undefined : { ref: this.rng.pick(l).name };
      }
      case 'uint': {
        if (a.enum !== undefined) {
          const e = enumOf(spec, a.enum);
          if (e !== undefined && e.entries.length > 0) {
            if (!e.bitfield) return this.rng.pick(e.entries).value;
            return e.entries.filter(() => this.rng.below(3) === 0).reduce((m, x) => m | x.value, 0) >>> 0;
          }
        }
        return this.rng.below(64);
      }
      default: return undefined;
    }
  }

  // ---- the one wrong step ----

  private wrongStep(): WrongStep | 'none' {
    const first = this.rng.below(WRONG_STEPS.length);
    for (let k = 0; k < WRONG_STEPS.length; k++) {
      const kind = WRONG_STEPS[(first + k) % WRONG_STEPS.length];
      if (this.tryWrong(kind)) return kind;
    }
    return 'none';
  }

  private tryWrong(kind: WrongStep): boolean {
    switch (kind) {
      case 'wrong-interface': return this.wrongInterface();
      case 'destroyed-object': return this.destroyedObject();
      case 'enum-out-of-range': return this.badEnum();
      case 'order-violation': return this.orderViolation();
      case 'wrong-role': return this.wrongRole();
    }
  }

  /** A request whose typed object argument gets a live object of another interface. */
  private wrongInterface(): boolean {
    const choices: Array<[Obj, MessageSpec, number]> = [];
    for (const o of this.live()) {
      for (const r of registry.interface(o.iface)!.requests) {
        if (r.since > o.version || r.args.some((a) => a.type === 'array' || (a.type === 'new_id' && a.interface === undefined))) continue;
        r.args.forEach((a, i) => {
          if (a.type === 'object' && a.interface !== undefined) choices.push([o, r, i]);
        });
      }
    }
    if (choices.length === 0) return false;
    const [o, r, at] = this.rng.pick(choices);
    const others = this.live(undefined, r.args[at].interface).filter((x) => x.iface !== 'wl_display');
    if (others.length === 0) return false;
    const args: Arg[] = [];
    for (let i = 0; i < r.args.length; i++) {
      const v = i === at ? { ref: this.rng.pick(others).name } : this.argFor(registry.interface(o.iface)!, r.args[i], o);
      if (v === undefined) return this.abandon(args);
      args.push(v);
    }
    this.push(o.name, r.name, args);
    return true;
  }

  /**
   * A request naming an object already destroyed as its argument (a request on the object itself cannot be sent
   * once the server's delete_id freed its id: the raw client no longer knows its interface).
   */
  private destroyedObject(): boolean {
    const usersOf = (d: Obj): Array<[Obj, MessageSpec]> => this.live().flatMap((o) => registry.interface(o.iface)!.requests
      .filter((r) => r.since <= o.version && r.args.some((a) => a.type === 'object' && a.interface === d.iface) &&
        r.args.every((a) => a.type !== 'array' && !(a.type === 'new_id' && a.interface === undefined)))
      .map((r): [Obj, MessageSpec] => [o, r]));
    let dead = [...this.objs.values()].filter((o) => !o.alive && usersOf(o).length > 0);
    if (dead.length === 0) {
      // destroy a surface, buffer or the like that something else can still name
      const victims = this.live().filter((o) => usersOf(o).some(([u]) => u !== o) && registry.interface(o.iface)!.requests.some((r) => r.destructor && r.args.length === 0));
      if (victims.length === 0) return false;
      const v = this.rng.pick(victims);
      this.push(v.name, registry.interface(v.iface)!.requests.find((r) => r.destructor && r.args.length === 0)!.name);
      dead = [v];
    }
    const d = this.rng.pick(dead);
    const users = usersOf(d);
    if (users.length === 0) return false;
    const [o, r] = this.rng.pick(users);
    const args: Arg[] = [];
    for (const a of r.args) {
      const v = a.type === 'object' && a.interface === d.iface ? { ref: d.name } : this.argFor(registry.interface(o.iface)!, a, o);
      if (v === undefined) return this.abandon(args);
      args.push(v);
    }
    this.push(o.name, r.name, args);
    return true;
  }

  /** An enum argument one past its last value (or a bitfield with an unknown bit). */
  private badEnum(): boolean {
    const choices: Array<[Obj, MessageSpec]> = [];
    for (const o of this.live()) {
      for (const r of registry.interface(o.iface)!.requests) {
        if (r.since <= o.version && !DRIVEN.has(`${o.iface}.${r.name}`) && r.args.some((a) => a.enum !== undefined) && r.args.every((a) => a.type !== 'array' && a.type !== 'new_id')) choices.push([o, r]);
      }
    }
    if (choices.length === 0) return false;
    const [o, r] = this.rng.pick(choices);
    const spec = registry.interface(o.iface)!;
    const args: Arg[] = [];
    for (const a of r.args) {
      let v: Arg | undefined;
      if (a.enum !== undefined) {
        const e = enumOf(spec, a.enum);
        const max = e === undefined ? 0 : Math.max(...e.entries.map((x) => x.value));
        v = this.rng.below(3) === 0 ? 0xffffffff : e?.bitfield ? (max << 1) >>> 0 || 0x80000000 : max + 1 + this.rng.below(3);
        if (a.type === 'int') v |= 0; // an int argument with an enum (wl_surface.set_buffer_transform)
      } else {
        v = this.argFor(spec, a, o);
      }
      if (v === undefined) return this.abandon(args);
      args.push(v);
    }
    this.push(o.name, r.name, args);
    return true;
  }

  /** Something the XML orders otherwise: a buffer before the first configure, a role object twice, a parent destroyed first, a stale serial. */
  private orderViolation(): boolean {
    const wm = this.one('xdg_wm_base');
    switch (this.rng.below(5)) {
      case 0: { // a buffer on an xdg surface before its first configure
        const s = this.surface();
        if (s === undefined || wm === undefined) return false;
        const xs = this.fresh('xdg_surface', this.objs.get(wm)!.version);
        this.push(wm, 'get_xdg_surface', [{ new: xs }, { ref: s }]);
        this.push(xs, 'get_toplevel', [{ new: this.fresh('xdg_toplevel', this.objs.get(wm)!.version) }]);
        const buf = this.buffer();
        if (buf === undefined) return false;
        this.push(s, 'attach', [{ ref: buf }, 0, 0]);
        this.push(s, 'commit');
        return true;
      }
      case 1: { // xdg_surface destroyed before its role object
        const xs = this.live('xdg_surface');
        if (xs.length === 0) return false;
        this.push(this.rng.pick(xs).name, 'destroy');
        return true;
      }
      case 2: { // ack_configure with a serial never sent
        const xs = this.live('xdg_surface');
        if (xs.length === 0) return false;
        this.push(this.rng.pick(xs).name, 'ack_configure', [0x7fff0000 + this.rng.below(1000)]);
        return true;
      }
      case 3: { // the parent of a sub-surface destroyed, then the sub-surface restacked and committed
        const subs = this.live('wl_subsurface');
        const parents = [...this.steps].filter((s): s is { obj: string; req: string; args: Arg[] } => 'req' in s && s.req === 'get_subsurface');
        if (subs.length === 0 || parents.length === 0) return false;
        const g = this.rng.pick(parents);
        const sub = (g.args[0] as { new: string }).new;
        const parent = (g.args[2] as { ref: string }).ref;
        if (!this.objs.get(sub)!.alive || !this.objs.get((g.args[1] as { ref: string }).ref)!.alive) return false;
        this.push(parent, 'destroy');
        this.push(sub, this.rng.below(2) === 0 ? 'place_above' : 'place_below', [{ ref: parent }]);
        this.push((g.args[1] as { ref: string }).ref, 'commit');
        return true;
      }
      default: { // a role object asked for twice on one xdg_surface
        const xs = this.live('xdg_surface');
        if (xs.length === 0) return false;
        const x = this.rng.pick(xs).name;
        this.push(x, 'get_toplevel', [{ new: this.fresh('xdg_toplevel', this.objs.get(x)!.version) }]);
        return true;
      }
    }
  }

  /** A surface that has one role given another. */
  private wrongRole(): boolean {
    const withRole = this.live('wl_surface').filter((o) => (this.surfaces.get(o.name)?.role ?? 'none') !== 'none');
    if (withRole.length === 0) return false;
    const s = this.rng.pick(withRole).name;
    const role = this.surfaces.get(s)!.role;
    const wm = this.one('xdg_wm_base');
    const sub = this.one('wl_subcompositor');
    const parents = this.live('wl_surface').filter((o) => o.name !== s);
    if (role !== 'sub' && sub !== undefined && parents.length > 0) {
      this.push(sub, 'get_subsurface', [{ new: this.fresh('wl_subsurface', 1) }, { ref: s }, { ref: this.rng.pick(parents).name }]);
    } else if (wm !== undefined) {
      const xs = this.fresh('xdg_surface', this.objs.get(wm)!.version);
      this.push(wm, 'get_xdg_surface', [{ new: xs }, { ref: s }]);
      this.push(xs, 'get_toplevel', [{ new: this.fresh('xdg_toplevel', this.objs.get(wm)!.version) }]);
    } else {
      return false;
    }
    this.push(s, 'commit');
    return true;
  }
}

function enumOf(spec: InterfaceSpec, name: string): { entries: { value: number }[]; bitfield?: boolean } | undefined {
  const dot = name.indexOf('.');
  const owner = dot < 0 ? spec : registry.interface(name.slice(0, dot));
  return owner?.enums.find((e) => e.name === (dot < 0 ? name : name.slice(dot + 1)));
}

/** One sequence of `length` actions (each one or a few requests) from `seed`. */
export function grammarSequence(seed: number, advertised: ReadonlyMap<string, number>, length: number): GrammarSequence {
  return new GrammarBuilder(seed, advertised).build(length);
}

/** How many requests a sequence sends (binds included, waits and round trips not). */
export function requestCount(seq: CrashSequence): number {
  return seq.steps.filter((s) => 'bind' in s || 'req' in s).length;
}
