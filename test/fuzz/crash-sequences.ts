// Named Wayland request sequences that crash, hang or are refused by real compositors: a replayable corpus (data only).
// Objects are named symbolically; `{ new: 'x' }` names the object a request creates, `{ ref: 'x' }` uses it.
// See docs/compositor-crashes.md for what each one does on weston 10 and sway 1.7 and which XML rule forbids it.

export type Arg =
  | number
  | string
  /** A null object (id 0). */
  | null
  | { ref: string }
  | { new: string }
  /** A fresh memfd of this many bytes (zero-filled), for wl_shm.create_pool. */
  | { memfd: number }
  /** The serial of the last xdg_surface.configure received on the named xdg_surface. */
  | { configureSerial: string };

export type Step =
  /** wl_registry.bind at min(version, advertised); a sequence whose global is missing is reported as skipped. */
  | { bind: string; version: number; as: string }
  | { obj: string; req: string; args?: Arg[] }
  /** Wait (up to 2 s) for an xdg_surface.configure on the named xdg_surface. */
  | { awaitConfigure: string }
  /** wl_display.sync round trip (up to 3 s). */
  | { roundtrip: true };

export interface CrashSequence {
  name: string;
  /** What the sequence does, in words. */
  summary: string;
  steps: Step[];
}

// ---- building blocks (each returns plain steps) ----

const BASE: Step[] = [
  { bind: 'wl_compositor', version: 4, as: 'comp' },
  { bind: 'wl_subcompositor', version: 1, as: 'subcomp' },
  { bind: 'wl_shm', version: 1, as: 'shm' },
  { bind: 'xdg_wm_base', version: 3, as: 'wm' },
];

function surface(name: string): Step[] {
  return [{ obj: 'comp', req: 'create_surface', args: [{ new: name }] }];
}

/** A w×h ARGB8888 shm buffer `name` in its own pool (the memfd is `bytes` long; default exactly w*h*4). */
function buffer(name: string, w: number, h: number, bytes = w * h * 4, format = 0): Step[] {
  return [
    { obj: 'shm', req: 'create_pool', args: [{ new: `${name}.pool` }, { memfd: bytes }, Math.max(bytes, w * h * 4)] },
    { obj: `${name}.pool`, req: 'create_buffer', args: [{ new: name }, 0, w, h, w * 4, format] },
  ];
}

/** Surface `name` with xdg_surface `name.xs` and xdg_toplevel `name.top`, first configure acked; mapped with a 64×64 buffer when `map`. */
function toplevel(name: string, map = true): Step[] {
  const steps: Step[] = [
    ...surface(name),
    { obj: 'wm', req: 'get_xdg_surface', args: [{ new: `${name}.xs` }, { ref: name }] },
    { obj: `${name}.xs`, req: 'get_toplevel', args: [{ new: `${name}.top` }] },
    { obj: name, req: 'commit' },
    { awaitConfigure: `${name}.xs` },
    { obj: `${name}.xs`, req: 'ack_configure', args: [{ configureSerial: `${name}.xs` }] },
  ];
  if (map) steps.push(...attachCommit(name, 64, 64), { roundtrip: true });
  return steps;
}

function attachCommit(surfaceName: string, w: number, h: number): Step[] {
  const b = `${surfaceName}.buf${w}x${h}`;
  return [...buffer(b, w, h), { obj: surfaceName, req: 'attach', args: [{ ref: b }, 0, 0] }, { obj: surfaceName, req: 'commit' }];
}

/** A complete positioner `name` (size 32×32, anchor rect 0,0 8×8). */
function positioner(name: string, complete = true): Step[] {
  const steps: Step[] = [{ obj: 'wm', req: 'create_positioner', args: [{ new: name }] }];
  if (complete) {
    steps.push({ obj: name, req: 'set_size', args: [32, 32] }, { obj: name, req: 'set_anchor_rect', args: [0, 0, 8, 8] });
  }
  return steps;
}

/** Popup surface `name` (xdg_surface `name.xs`, xdg_popup `name.popup`) of xdg_surface `parentXs`, configured and mapped. */
function popup(name: string, parentXs: string | null, map = true): Step[] {
  const steps: Step[] = [
    ...surface(name),
    ...positioner(`${name}.pos`),
    { obj: 'wm', req: 'get_xdg_surface', args: [{ new: `${name}.xs` }, { ref: name }] },
    { obj: `${name}.xs`, req: 'get_popup', args: [{ new: `${name}.popup` }, parentXs === null ? null : { ref: parentXs }, { ref: `${name}.pos` }] },
    { obj: name, req: 'commit' },
    { awaitConfigure: `${name}.xs` },
    { obj: `${name}.xs`, req: 'ack_configure', args: [{ configureSerial: `${name}.xs` }] },
  ];
  if (map) steps.push(...attachCommit(name, 32, 32), { roundtrip: true });
  return steps;
}

/** Sub-surface `child` (wl_subsurface `child.sub`) of `parent`. */
function subsurface(child: string, parent: string): Step {
  return { obj: 'subcomp', req: 'get_subsurface', args: [{ new: `${child}.sub` }, { ref: child }, { ref: parent }] };
}

/** Surfaces parent, other and child (child.sub a sub-surface of parent), idle inhibitors i1 on other and i2 on child. */
function inhibitedSubsurface(): Step[] {
  return [
    { bind: 'wl_compositor', version: 4, as: 'comp' }, { bind: 'wl_subcompositor', version: 1, as: 'subcomp' }, { bind: 'zwp_idle_inhibit_manager_v1', version: 1, as: 'idle' },
    ...surface('parent'), ...surface('other'), ...surface('child'), subsurface('child', 'parent'),
    { obj: 'idle', req: 'create_inhibitor', args: [{ new: 'i1' }, { ref: 'other' }] }, { obj: 'idle', req: 'create_inhibitor', args: [{ new: 'i2' }, { ref: 'child' }] }, { roundtrip: true },
  ];
}

function destroyToplevel(name: string): Step[] {
  return [
    { obj: `${name}.top`, req: 'destroy' },
    { obj: `${name}.xs`, req: 'destroy' },
    { obj: name, req: 'destroy' },
  ];
}

// ---- the corpus ----

export const CRASH_SEQUENCES: CrashSequence[] = [
  // wl_subcompositor / wl_subsurface
  {
    name: 'sub-self-parent',
    summary: 'get_subsurface(a, parent a)',
    steps: [...BASE, ...surface('a'), subsurface('a', 'a'), { roundtrip: true }],
  },
  {
    name: 'sub-twice',
    summary: 'b becomes a sub-surface of a twice',
    steps: [...BASE, ...surface('a'), ...surface('b'), subsurface('b', 'a'), { obj: 'subcomp', req: 'get_subsurface', args: [{ new: 'b.sub2' }, { ref: 'b' }, { ref: 'a' }] }, { roundtrip: true }],
  },
  {
    name: 'sub-cycle-root',
    summary: 'b is a sub-surface of a; then a is made a sub-surface of b (a cycle through the root)',
    steps: [...BASE, ...surface('a'), ...surface('b'), subsurface('b', 'a'), subsurface('a', 'b'), { roundtrip: true }],
  },
  {
    name: 'sub-cycle-after-unparent',
    summary: 'b child of a, c child of b; b\'s wl_subsurface destroyed (b roots its own tree); b made a child of c',
    steps: [
      ...BASE, ...surface('a'), ...surface('b'), ...surface('c'),
      subsurface('b', 'a'), subsurface('c', 'b'),
      { obj: 'b.sub', req: 'destroy' },
      { obj: 'subcomp', req: 'get_subsurface', args: [{ new: 'b.sub2' }, { ref: 'b' }, { ref: 'c' }] },
      { obj: 'c', req: 'commit' }, { obj: 'b', req: 'commit' },
      { roundtrip: true },
    ],
  },
  {
    name: 'sub-cycle-after-parent-destroyed',
    summary: 'b child of a, c child of b; a destroyed (b\'s sub-surface is orphaned); c and b commit',
    steps: [
      ...BASE, ...surface('a'), ...surface('b'), ...surface('c'),
      subsurface('b', 'a'), subsurface('c', 'b'),
      { obj: 'a', req: 'destroy' },
      { obj: 'c', req: 'commit' }, { obj: 'b', req: 'commit' },
      { roundtrip: true },
    ],
  },
  {
    name: 'sub-place-above-non-sibling',
    summary: 'b child of a; b.place_above(c) where c is an unrelated surface',
    steps: [...BASE, ...surface('a'), ...surface('b'), ...surface('c'), subsurface('b', 'a'), { obj: 'b.sub', req: 'place_above', args: [{ ref: 'c' }] }, { obj: 'a', req: 'commit' }, { roundtrip: true }],
  },
  {
    name: 'sub-place-below-self',
    summary: 'b child of a; b.place_below(b)',
    steps: [...BASE, ...surface('a'), ...surface('b'), subsurface('b', 'a'), { obj: 'b.sub', req: 'place_below', args: [{ ref: 'b' }] }, { obj: 'a', req: 'commit' }, { roundtrip: true }],
  },
  {
    name: 'sub-place-above-nephew',
    summary: 'b and c children of a, d child of b; c.place_above(d) (d is not a sibling of c)',
    steps: [
      ...BASE, ...surface('a'), ...surface('b'), ...surface('c'), ...surface('d'),
      subsurface('b', 'a'), subsurface('c', 'a'), subsurface('d', 'b'),
      { obj: 'c.sub', req: 'place_above', args: [{ ref: 'd' }] }, { obj: 'a', req: 'commit' }, { roundtrip: true },
    ],
  },
  {
    name: 'sub-parent-destroyed-place-above',
    summary: 'b and c children of a; a destroyed; b.place_above(c)',
    steps: [
      ...BASE, ...surface('a'), ...surface('b'), ...surface('c'),
      subsurface('b', 'a'), subsurface('c', 'a'),
      { obj: 'a', req: 'destroy' },
      { obj: 'b.sub', req: 'place_above', args: [{ ref: 'c' }] }, { roundtrip: true },
    ],
  },
  {
    name: 'sub-parent-destroyed-place-below-parent',
    summary: 'b child of a; a destroyed; a new surface c; b.place_below(c)',
    steps: [
      ...BASE, ...surface('a'), ...surface('b'), subsurface('b', 'a'),
      { obj: 'a', req: 'destroy' }, ...surface('c'),
      { obj: 'b.sub', req: 'place_below', args: [{ ref: 'c' }] }, { roundtrip: true },
    ],
  },
  {
    name: 'sub-parent-destroyed-desync-commit',
    summary: 'mapped toplevel t with synchronized mapped child b; t\'s wl_surface destroyed first; then b.set_desync, b commits',
    steps: [
      ...BASE, ...toplevel('t'), ...surface('b'), subsurface('b', 't'),
      ...attachCommit('b', 16, 16), { obj: 't', req: 'commit' }, { roundtrip: true },
      { obj: 't', req: 'destroy' },
      { obj: 'b.sub', req: 'set_desync' }, ...attachCommit('b', 8, 8), { roundtrip: true },
    ],
  },
  {
    name: 'sub-parent-destroyed-before-xdg',
    summary: 'mapped toplevel t with mapped child b; t\'s wl_surface destroyed while its xdg_toplevel and xdg_surface live; then those, then b',
    steps: [
      ...BASE, ...toplevel('t'), ...surface('b'), subsurface('b', 't'), { obj: 'b.sub', req: 'set_desync' },
      ...attachCommit('b', 16, 16), { obj: 't', req: 'commit' }, { roundtrip: true },
      { obj: 't', req: 'destroy' }, { roundtrip: true },
      { obj: 't.top', req: 'destroy' }, { obj: 't.xs', req: 'destroy' }, { roundtrip: true },
      { obj: 'b', req: 'commit' }, { obj: 'b.sub', req: 'destroy' }, { obj: 'b', req: 'destroy' }, { roundtrip: true },
    ],
  },
  {
    name: 'sub-nested-middle-destroyed',
    summary: 'toplevel t, b child of t, c child of b, all mapped; b\'s wl_surface destroyed, then c commits, t commits',
    steps: [
      ...BASE, ...toplevel('t'), ...surface('b'), ...surface('c'), subsurface('b', 't'), subsurface('c', 'b'),
      { obj: 'b.sub', req: 'set_desync' }, { obj: 'c.sub', req: 'set_desync' },
      ...attachCommit('c', 8, 8), ...attachCommit('b', 16, 16), { obj: 't', req: 'commit' }, { roundtrip: true },
      { obj: 'b', req: 'destroy' }, ...attachCommit('c', 4, 4), { obj: 't', req: 'commit' }, { roundtrip: true },
      { obj: 'c.sub', req: 'set_position', args: [3, 3] }, { obj: 'c.sub', req: 'place_above', args: [{ ref: 't' }] }, { roundtrip: true },
    ],
  },
  {
    name: 'sub-subsurface-destroyed-then-reparented',
    summary: 'b child of mapped t; b\'s wl_subsurface destroyed; b made a child of t again and committed',
    steps: [
      ...BASE, ...toplevel('t'), ...surface('b'), subsurface('b', 't'), ...attachCommit('b', 16, 16), { obj: 't', req: 'commit' },
      { obj: 'b.sub', req: 'destroy' },
      { obj: 'subcomp', req: 'get_subsurface', args: [{ new: 'b.sub2' }, { ref: 'b' }, { ref: 't' }] },
      { obj: 'b', req: 'commit' }, { obj: 't', req: 'commit' }, { roundtrip: true },
    ],
  },
  // roles
  {
    name: 'role-xdg-surface-then-subsurface',
    summary: 'xdg_surface for a (no role yet), then a becomes a sub-surface of p; then the xdg_surface and the wl_subsurface are destroyed',
    steps: [
      ...BASE, ...surface('p'), ...surface('a'),
      { obj: 'wm', req: 'get_xdg_surface', args: [{ new: 'a.xs' }, { ref: 'a' }] },
      subsurface('a', 'p'), { roundtrip: true },
      { obj: 'a.xs', req: 'destroy' }, { obj: 'a.sub', req: 'destroy' }, { roundtrip: true },
    ],
  },
  {
    name: 'role-xdg-surface-then-subsurface-commit',
    summary: 'xdg_surface for a, a becomes a sub-surface of p, a commits a buffer, p commits',
    steps: [
      ...BASE, ...surface('p'), ...surface('a'),
      { obj: 'wm', req: 'get_xdg_surface', args: [{ new: 'a.xs' }, { ref: 'a' }] },
      subsurface('a', 'p'), ...attachCommit('a', 16, 16), { obj: 'p', req: 'commit' }, { roundtrip: true },
    ],
  },
  {
    name: 'role-subsurface-then-xdg-surface',
    summary: 'a is a sub-surface of p, then get_xdg_surface(a)',
    steps: [...BASE, ...surface('p'), ...surface('a'), subsurface('a', 'p'), { obj: 'wm', req: 'get_xdg_surface', args: [{ new: 'a.xs' }, { ref: 'a' }] }, { roundtrip: true }],
  },
  {
    name: 'role-toplevel-then-subsurface',
    summary: 'mapped toplevel t becomes a sub-surface of p',
    steps: [...BASE, ...surface('p'), ...toplevel('t'), subsurface('t', 'p'), { roundtrip: true }],
  },
  {
    name: 'role-toplevel-then-popup',
    summary: 'xdg_surface with a toplevel also gets a popup role',
    steps: [...BASE, ...toplevel('p'), ...toplevel('t', false), ...positioner('pos'), { obj: 't.xs', req: 'get_popup', args: [{ new: 't.popup' }, { ref: 'p.xs' }, { ref: 'pos' }] }, { roundtrip: true }],
  },
  {
    name: 'role-cursor-then-subsurface',
    summary: 'a surface given to wl_pointer.set_cursor, then made a sub-surface',
    steps: [
      ...BASE, { bind: 'wl_seat', version: 5, as: 'seat' }, { obj: 'seat', req: 'get_pointer', args: [{ new: 'ptr' }] },
      ...surface('p'), ...surface('a'), { obj: 'ptr', req: 'set_cursor', args: [0, { ref: 'a' }, 0, 0] }, ...attachCommit('a', 16, 16),
      subsurface('a', 'p'), { roundtrip: true },
    ],
  },
  {
    name: 'role-subsurface-then-cursor',
    summary: 'a sub-surface given to wl_pointer.set_cursor',
    steps: [
      ...BASE, { bind: 'wl_seat', version: 5, as: 'seat' }, { obj: 'seat', req: 'get_pointer', args: [{ new: 'ptr' }] },
      ...surface('p'), ...surface('a'), subsurface('a', 'p'), { obj: 'ptr', req: 'set_cursor', args: [0, { ref: 'a' }, 0, 0] }, ...attachCommit('a', 16, 16), { roundtrip: true },
    ],
  },
  {
    name: 'role-subsurface-then-drag-icon',
    summary: 'a sub-surface used as the icon of wl_data_device.start_drag (serial 0, origin a mapped toplevel)',
    steps: [
      ...BASE, { bind: 'wl_seat', version: 5, as: 'seat' }, { bind: 'wl_data_device_manager', version: 3, as: 'ddm' },
      { obj: 'ddm', req: 'get_data_device', args: [{ new: 'dd' }, { ref: 'seat' }] }, { obj: 'ddm', req: 'create_data_source', args: [{ new: 'src' }] },
      { obj: 'src', req: 'offer', args: ['text/plain'] },
      ...toplevel('t'), ...surface('a'), subsurface('a', 't'),
      { obj: 'dd', req: 'start_drag', args: [{ ref: 'src' }, { ref: 't' }, { ref: 'a' }, 0] }, ...attachCommit('a', 16, 16), { roundtrip: true },
    ],
  },
  // xdg-shell
  {
    name: 'xdg-no-role-commit-buffer',
    summary: 'xdg_surface without a role; a buffer attached and committed',
    steps: [...BASE, ...surface('a'), { obj: 'wm', req: 'get_xdg_surface', args: [{ new: 'a.xs' }, { ref: 'a' }] }, ...attachCommit('a', 16, 16), { roundtrip: true }],
  },
  {
    name: 'xdg-buffer-before-configure',
    summary: 'toplevel whose buffer is committed before the first configure is acked',
    steps: [...BASE, ...surface('a'), { obj: 'wm', req: 'get_xdg_surface', args: [{ new: 'a.xs' }, { ref: 'a' }] }, { obj: 'a.xs', req: 'get_toplevel', args: [{ new: 'a.top' }] }, ...attachCommit('a', 16, 16), { roundtrip: true }],
  },
  {
    name: 'xdg-surface-with-buffer',
    summary: 'a wl_surface with a committed buffer gets an xdg_surface',
    steps: [...BASE, ...surface('a'), ...attachCommit('a', 16, 16), { obj: 'wm', req: 'get_xdg_surface', args: [{ new: 'a.xs' }, { ref: 'a' }] }, { roundtrip: true }],
  },
  {
    name: 'xdg-surface-destroyed-before-toplevel',
    summary: 'mapped toplevel: xdg_surface destroyed before its xdg_toplevel; then the toplevel is used',
    steps: [...BASE, ...toplevel('t'), { obj: 't.xs', req: 'destroy' }, { roundtrip: true }, { obj: 't.top', req: 'set_title', args: ['x'] }, { obj: 't', req: 'commit' }, { obj: 't.top', req: 'destroy' }, { roundtrip: true }],
  },
  {
    name: 'xdg-wm-base-destroyed-with-surfaces',
    summary: 'xdg_wm_base destroyed while a mapped toplevel lives; then the toplevel commits',
    steps: [...BASE, ...toplevel('t'), { obj: 'wm', req: 'destroy' }, { roundtrip: true }, ...attachCommit('t', 32, 32), { roundtrip: true }],
  },
  {
    name: 'xdg-ack-bad-serial',
    summary: 'ack_configure with a serial never sent',
    steps: [...BASE, ...toplevel('t'), { obj: 't.xs', req: 'ack_configure', args: [0x7fff1234] }, { roundtrip: true }],
  },
  {
    name: 'xdg-window-geometry-zero',
    summary: 'set_window_geometry with zero width and height',
    steps: [...BASE, ...toplevel('t'), { obj: 't.xs', req: 'set_window_geometry', args: [0, 0, 0, 0] }, { obj: 't', req: 'commit' }, { roundtrip: true }],
  },
  {
    name: 'xdg-min-above-max',
    summary: 'set_min_size above set_max_size',
    steps: [...BASE, ...toplevel('t'), { obj: 't.top', req: 'set_max_size', args: [10, 10] }, { obj: 't.top', req: 'set_min_size', args: [100, 100] }, { obj: 't', req: 'commit' }, { roundtrip: true }],
  },
  {
    name: 'xdg-set-parent-cycle',
    summary: 'toplevels a and b: a.set_parent(b), b.set_parent(a)',
    steps: [...BASE, ...toplevel('a'), ...toplevel('b'), { obj: 'a.top', req: 'set_parent', args: [{ ref: 'b.top' }] }, { obj: 'b.top', req: 'set_parent', args: [{ ref: 'a.top' }] }, { obj: 'a', req: 'commit' }, { obj: 'b', req: 'commit' }, { roundtrip: true }],
  },
  {
    name: 'xdg-set-parent-self',
    summary: 'a.set_parent(a)',
    steps: [...BASE, ...toplevel('a'), { obj: 'a.top', req: 'set_parent', args: [{ ref: 'a.top' }] }, { obj: 'a', req: 'commit' }, { roundtrip: true }],
  },
  {
    name: 'xdg-set-parent-unmapped-then-destroyed',
    summary: 'a.set_parent(b) with b unmapped; b destroyed; a commits',
    steps: [...BASE, ...toplevel('a'), ...toplevel('b', false), { obj: 'a.top', req: 'set_parent', args: [{ ref: 'b.top' }] }, ...destroyToplevel('b'), { obj: 'a', req: 'commit' }, { roundtrip: true }],
  },
  {
    name: 'positioner-incomplete',
    summary: 'get_popup with a positioner that has neither size nor anchor rect',
    steps: [...BASE, ...toplevel('t'), ...surface('p'), ...positioner('pos', false), { obj: 'wm', req: 'get_xdg_surface', args: [{ new: 'p.xs' }, { ref: 'p' }] }, { obj: 'p.xs', req: 'get_popup', args: [{ new: 'p.popup' }, { ref: 't.xs' }, { ref: 'pos' }] }, { obj: 'p', req: 'commit' }, { roundtrip: true }],
  },
  {
    name: 'positioner-zero-size',
    summary: 'xdg_positioner.set_size(0, 0)',
    steps: [...BASE, ...positioner('pos', false), { obj: 'pos', req: 'set_size', args: [0, 0] }, { roundtrip: true }],
  },
  {
    name: 'popup-null-parent',
    summary: 'get_popup with a null parent, committed and mapped',
    steps: [...BASE, ...popup('p', null), { roundtrip: true }],
  },
  {
    name: 'popup-parent-destroyed-first',
    summary: 'mapped toplevel t with mapped popup p; t\'s xdg_toplevel, xdg_surface and wl_surface destroyed; then p commits and is destroyed',
    steps: [...BASE, ...toplevel('t'), ...popup('p', 't.xs'), ...destroyToplevel('t'), { roundtrip: true }, ...attachCommit('p', 16, 16), { roundtrip: true }, { obj: 'p.popup', req: 'destroy' }, { obj: 'p.xs', req: 'destroy' }, { obj: 'p', req: 'destroy' }, { roundtrip: true }],
  },
  {
    name: 'popup-parent-destroyed-then-disconnect',
    summary: 'mapped toplevel t with mapped popup p; t\'s xdg_toplevel and xdg_surface destroyed; the client disconnects',
    steps: [...BASE, ...toplevel('t'), ...popup('p', 't.xs'), { obj: 't.top', req: 'destroy' }, { obj: 't.xs', req: 'destroy' }, { roundtrip: true }],
  },
  {
    name: 'popup-parent-xdg-surface-destroyed-only',
    summary: 'mapped toplevel t with mapped popup p; only t\'s xdg_surface destroyed (role object alive); p commits',
    steps: [...BASE, ...toplevel('t'), ...popup('p', 't.xs'), { obj: 't.xs', req: 'destroy' }, { roundtrip: true }, ...attachCommit('p', 16, 16), { roundtrip: true }],
  },
  {
    name: 'popup-of-popup-middle-destroyed',
    summary: 't, popup p1 of t, popup p2 of p1 (all mapped); p1 destroyed before p2; p2 commits',
    steps: [...BASE, ...toplevel('t'), ...popup('p1', 't.xs'), ...popup('p2', 'p1.xs'), ...destroyToplevel('p1').map((s) => ('obj' in s && s.obj === 'p1.top' ? { obj: 'p1.popup', req: 'destroy' } : s)), { roundtrip: true }, ...attachCommit('p2', 16, 16), { roundtrip: true }],
  },
  {
    name: 'xdg-surface-request-after-role-destroyed',
    summary: 'mapped toplevel t; t\'s xdg_toplevel destroyed; then set_window_geometry and ack_configure on t\'s xdg_surface',
    steps: [...BASE, ...toplevel('t'), { obj: 't.top', req: 'destroy' }, { obj: 't.xs', req: 'set_window_geometry', args: [0, 0, 10, 10] }, { obj: 't.xs', req: 'ack_configure', args: [1] }, { obj: 't', req: 'commit' }, { roundtrip: true }],
  },
  {
    name: 'popup-parent-role-destroyed',
    summary: 'mapped toplevel t; t\'s xdg_toplevel destroyed; then a popup with t\'s xdg_surface as parent',
    steps: [...BASE, ...toplevel('t'), { obj: 't.top', req: 'destroy' }, ...popup('p', 't.xs'), { roundtrip: true }],
  },
  {
    name: 'popup-parent-unmapped',
    summary: 'popup whose parent toplevel is configured but never mapped',
    steps: [...BASE, ...toplevel('t', false), ...popup('p', 't.xs'), { roundtrip: true }],
  },
  {
    name: 'popup-grab-after-map',
    summary: 'xdg_popup.grab(seat, serial 0) after the popup is mapped',
    steps: [...BASE, { bind: 'wl_seat', version: 5, as: 'seat' }, ...toplevel('t'), ...popup('p', 't.xs'), { obj: 'p.popup', req: 'grab', args: [{ ref: 'seat' }, 0] }, { roundtrip: true }],
  },
  {
    name: 'popup-reposition-incomplete',
    summary: 'xdg_popup.reposition (v3) with an incomplete positioner',
    steps: [...BASE, ...toplevel('t'), ...popup('p', 't.xs'), ...positioner('pos2', false), { obj: 'p.popup', req: 'reposition', args: [{ ref: 'pos2' }, 7] }, { obj: 'p', req: 'commit' }, { roundtrip: true }],
  },
  // wl_surface
  {
    name: 'surface-scale-zero',
    summary: 'wl_surface.set_buffer_scale(0)',
    steps: [...BASE, ...surface('a'), { obj: 'a', req: 'set_buffer_scale', args: [0] }, { roundtrip: true }],
  },
  {
    name: 'surface-transform-invalid',
    summary: 'wl_surface.set_buffer_transform(8)',
    steps: [...BASE, ...surface('a'), { obj: 'a', req: 'set_buffer_transform', args: [8] }, { roundtrip: true }],
  },
  {
    name: 'surface-size-not-multiple-of-scale',
    summary: 'mapped toplevel commits scale 2 with a 63x63 buffer',
    steps: [...BASE, ...toplevel('t'), { obj: 't', req: 'set_buffer_scale', args: [2] }, ...attachCommit('t', 63, 63), { roundtrip: true }],
  },
  {
    name: 'surface-huge-scale',
    summary: 'mapped toplevel commits scale 0x7fffffff with a 64x64 buffer',
    steps: [...BASE, ...toplevel('t'), { obj: 't', req: 'set_buffer_scale', args: [0x7fffffff] }, ...attachCommit('t', 64, 64), { roundtrip: true }],
  },
  {
    name: 'surface-attach-huge-offset',
    summary: 'mapped toplevel: attach with offset (2^31-1, -2^31) and commit (wl_compositor v4)',
    steps: [...BASE, ...toplevel('t'), ...buffer('b', 64, 64), { obj: 't', req: 'attach', args: [{ ref: 'b' }, 0x7fffffff, -0x80000000] }, { obj: 't', req: 'commit' }, { roundtrip: true }],
  },
  {
    name: 'surface-damage-huge',
    summary: 'mapped toplevel: damage and damage_buffer with extreme rectangles',
    steps: [...BASE, ...toplevel('t'), { obj: 't', req: 'damage', args: [-0x80000000, -0x80000000, 0x7fffffff, 0x7fffffff] }, { obj: 't', req: 'damage_buffer', args: [0x7fffffff, 0x7fffffff, 0x7fffffff, 0x7fffffff] }, { obj: 't', req: 'commit' }, { roundtrip: true }],
  },
  // wl_shm
  {
    name: 'shm-pool-bigger-than-file',
    summary: 'create_pool of 16384 bytes over a 0-byte memfd; a 64x64 buffer from it committed on a mapped toplevel',
    steps: [...BASE, ...toplevel('t'), ...buffer('b', 64, 64, 0), { obj: 't', req: 'attach', args: [{ ref: 'b' }, 0, 0] }, { obj: 't', req: 'damage', args: [0, 0, 64, 64] }, { obj: 't', req: 'commit' }, { roundtrip: true }],
  },
  {
    name: 'shm-bad-format',
    summary: 'create_buffer with format 0x12345678',
    steps: [...BASE, ...buffer('b', 16, 16, 1024, 0x12345678), { roundtrip: true }],
  },
  {
    name: 'shm-bad-stride',
    summary: 'create_buffer whose stride is smaller than width*4',
    steps: [...BASE, { obj: 'shm', req: 'create_pool', args: [{ new: 'pool' }, { memfd: 4096 }, 4096] }, { obj: 'pool', req: 'create_buffer', args: [{ new: 'b' }, 0, 16, 16, 4, 0] }, { roundtrip: true }],
  },
  {
    name: 'shm-pool-shrink',
    summary: 'wl_shm_pool.resize to a smaller size',
    steps: [...BASE, { obj: 'shm', req: 'create_pool', args: [{ new: 'pool' }, { memfd: 4096 }, 4096] }, { obj: 'pool', req: 'resize', args: [16] }, { roundtrip: true }],
  },
  // viewporter
  {
    name: 'viewport-bad-destination',
    summary: 'wp_viewport.set_destination(0, 5)',
    steps: [...BASE, { bind: 'wp_viewporter', version: 1, as: 'vp' }, ...surface('a'), { obj: 'vp', req: 'get_viewport', args: [{ new: 'v' }, { ref: 'a' }] }, { obj: 'v', req: 'set_destination', args: [0, 5] }, { roundtrip: true }],
  },
  {
    name: 'viewport-source-outside-buffer',
    summary: 'mapped toplevel with viewport source 100,100 50x50 over a 64x64 buffer',
    steps: [...BASE, { bind: 'wp_viewporter', version: 1, as: 'vp' }, ...toplevel('t'), { obj: 'vp', req: 'get_viewport', args: [{ new: 'v' }, { ref: 't' }] }, { obj: 'v', req: 'set_source', args: [100, 100, 50, 50] }, { obj: 't', req: 'commit' }, { roundtrip: true }],
  },
  {
    name: 'viewport-fraction-no-destination',
    summary: 'mapped toplevel with viewport source 0,0 10.5x10.5 and no destination (surface size not integer)',
    steps: [...BASE, { bind: 'wp_viewporter', version: 1, as: 'vp' }, ...toplevel('t'), { obj: 'vp', req: 'get_viewport', args: [{ new: 'v' }, { ref: 't' }] }, { obj: 'v', req: 'set_source', args: [0, 0, 10.5, 10.5] }, { obj: 't', req: 'commit' }, { roundtrip: true }],
  },
  {
    name: 'viewport-twice',
    summary: 'two wp_viewports for one surface',
    steps: [...BASE, { bind: 'wp_viewporter', version: 1, as: 'vp' }, ...surface('a'), { obj: 'vp', req: 'get_viewport', args: [{ new: 'v' }, { ref: 'a' }] }, { obj: 'vp', req: 'get_viewport', args: [{ new: 'v2' }, { ref: 'a' }] }, { roundtrip: true }],
  },
  {
    name: 'viewport-surface-destroyed',
    summary: 'surface destroyed before its wp_viewport; then set_destination on the viewport',
    steps: [...BASE, { bind: 'wp_viewporter', version: 1, as: 'vp' }, ...surface('a'), { obj: 'vp', req: 'get_viewport', args: [{ new: 'v' }, { ref: 'a' }] }, { obj: 'a', req: 'destroy' }, { obj: 'v', req: 'set_destination', args: [10, 10] }, { roundtrip: true }],
  },
  // wl_data_device
  {
    name: 'data-selection-source-reused',
    summary: 'one wl_data_source given to set_selection twice, then used for start_drag',
    steps: [
      ...BASE, { bind: 'wl_seat', version: 5, as: 'seat' }, { bind: 'wl_data_device_manager', version: 3, as: 'ddm' },
      { obj: 'ddm', req: 'get_data_device', args: [{ new: 'dd' }, { ref: 'seat' }] }, { obj: 'ddm', req: 'create_data_source', args: [{ new: 'src' }] },
      { obj: 'src', req: 'offer', args: ['text/plain'] }, ...toplevel('t'),
      { obj: 'dd', req: 'set_selection', args: [{ ref: 'src' }, 0] }, { obj: 'dd', req: 'set_selection', args: [{ ref: 'src' }, 0] },
      { obj: 'dd', req: 'start_drag', args: [{ ref: 'src' }, { ref: 't' }, null, 0] }, { roundtrip: true },
    ],
  },
  {
    name: 'data-source-set-actions-on-selection',
    summary: 'wl_data_source.set_actions (v3) on a source already used for set_selection, then invalid action bits',
    steps: [
      ...BASE, { bind: 'wl_seat', version: 5, as: 'seat' }, { bind: 'wl_data_device_manager', version: 3, as: 'ddm' },
      { obj: 'ddm', req: 'get_data_device', args: [{ new: 'dd' }, { ref: 'seat' }] }, { obj: 'ddm', req: 'create_data_source', args: [{ new: 'src' }] },
      { obj: 'src', req: 'offer', args: ['text/plain'] }, { obj: 'dd', req: 'set_selection', args: [{ ref: 'src' }, 0] },
      { obj: 'src', req: 'set_actions', args: [1] }, { obj: 'src', req: 'set_actions', args: [0xff] }, { roundtrip: true },
    ],
  },
  {
    name: 'data-device-seat-gone',
    summary: 'wl_seat released, then get_data_device on it and set_selection',
    steps: [
      ...BASE, { bind: 'wl_seat', version: 5, as: 'seat' }, { bind: 'wl_data_device_manager', version: 3, as: 'ddm' },
      { obj: 'seat', req: 'release' }, { obj: 'ddm', req: 'get_data_device', args: [{ new: 'dd' }, { ref: 'seat' }] },
      { obj: 'ddm', req: 'create_data_source', args: [{ new: 'src' }] }, { obj: 'dd', req: 'set_selection', args: [{ ref: 'src' }, 0] }, { roundtrip: true },
    ],
  },
  // decorations
  {
    name: 'decoration-twice',
    summary: 'two zxdg_toplevel_decoration_v1 for one toplevel',
    steps: [...BASE, { bind: 'zxdg_decoration_manager_v1', version: 1, as: 'deco' }, ...toplevel('t', false), { obj: 'deco', req: 'get_toplevel_decoration', args: [{ new: 'd1' }, { ref: 't.top' }] }, { obj: 'deco', req: 'get_toplevel_decoration', args: [{ new: 'd2' }, { ref: 't.top' }] }, { roundtrip: true }],
  },
  {
    name: 'decoration-after-buffer',
    summary: 'zxdg_toplevel_decoration_v1 created for a toplevel that already has a buffer',
    steps: [...BASE, { bind: 'zxdg_decoration_manager_v1', version: 1, as: 'deco' }, ...toplevel('t'), { obj: 'deco', req: 'get_toplevel_decoration', args: [{ new: 'd1' }, { ref: 't.top' }] }, { roundtrip: true }],
  },
  {
    name: 'decoration-orphaned',
    summary: 'toplevel destroyed before its decoration; then set_mode on the decoration',
    steps: [...BASE, { bind: 'zxdg_decoration_manager_v1', version: 1, as: 'deco' }, ...toplevel('t', false), { obj: 'deco', req: 'get_toplevel_decoration', args: [{ new: 'd1' }, { ref: 't.top' }] }, { obj: 't.top', req: 'destroy' }, { obj: 'd1', req: 'set_mode', args: [2] }, { roundtrip: true }],
  },
  // xdg_activation, presentation, fractional scale
  {
    name: 'activation-token-commit-twice',
    summary: 'xdg_activation_token_v1.commit twice',
    steps: [...BASE, { bind: 'xdg_activation_v1', version: 1, as: 'act' }, { obj: 'act', req: 'get_activation_token', args: [{ new: 'tok' }] }, { obj: 'tok', req: 'commit' }, { obj: 'tok', req: 'commit' }, { roundtrip: true }],
  },
  {
    name: 'activation-destroyed-surface',
    summary: 'xdg_activation_token_v1.set_surface with a surface then destroyed before commit; then activate with a bogus token',
    steps: [
      ...BASE, { bind: 'xdg_activation_v1', version: 1, as: 'act' }, ...toplevel('t'), ...surface('a'),
      { obj: 'act', req: 'get_activation_token', args: [{ new: 'tok' }] }, { obj: 'tok', req: 'set_surface', args: [{ ref: 'a' }] }, { obj: 'a', req: 'destroy' }, { obj: 'tok', req: 'commit' },
      { obj: 'act', req: 'activate', args: ['bogus-token', { ref: 't' }] }, { roundtrip: true },
    ],
  },
  {
    name: 'presentation-feedback-surface-destroyed',
    summary: 'wp_presentation.feedback on a mapped toplevel, then the surface destroyed before the next repaint',
    steps: [...BASE, { bind: 'wp_presentation', version: 1, as: 'pres' }, ...toplevel('t'), { obj: 'pres', req: 'feedback', args: [{ ref: 't' }, { new: 'fb' }] }, ...attachCommit('t', 32, 32), ...destroyToplevel('t'), { roundtrip: true }],
  },
  {
    name: 'fractional-scale-twice',
    summary: 'two wp_fractional_scale_v1 for one surface',
    steps: [...BASE, { bind: 'wp_fractional_scale_manager_v1', version: 1, as: 'fs' }, ...surface('a'), { obj: 'fs', req: 'get_fractional_scale', args: [{ new: 'f1' }, { ref: 'a' }] }, { obj: 'fs', req: 'get_fractional_scale', args: [{ new: 'f2' }, { ref: 'a' }] }, { roundtrip: true }],
  },
  // requests to xdg objects whose wl_surface the guest destroyed first (legal), found while building XdgShell
  {
    name: 'wl-surface-destroyed-then-set-title',
    summary: 'mapped toplevel a; a\'s wl_surface destroyed while its xdg_surface and xdg_toplevel live; a.top.set_title',
    steps: [...BASE, ...toplevel('a'), { obj: 'a', req: 'destroy' }, { roundtrip: true }, { obj: 'a.top', req: 'set_title', args: ['x'] }, { roundtrip: true }],
  },
  {
    name: 'wl-surface-destroyed-then-geometry',
    summary: 'mapped toplevel a; a\'s wl_surface destroyed while its xdg_surface lives; a.xs.set_window_geometry',
    steps: [...BASE, ...toplevel('a'), { obj: 'a', req: 'destroy' }, { roundtrip: true }, { obj: 'a.xs', req: 'set_window_geometry', args: [0, 0, 5, 5] }, { roundtrip: true }],
  },
  {
    name: 'popup-on-parent-without-wl-surface',
    summary: 'mapped toplevel t; t\'s wl_surface destroyed (its xdg objects live); a popup made with parent t.xs and mapped',
    steps: [...BASE, ...toplevel('t'), { obj: 't', req: 'destroy' }, { roundtrip: true }, ...popup('p', 't.xs'), { roundtrip: true }],
  },
  // found by the grammar fuzzer through the pair (test/fuzz/crash-corpus/sway-gd85eebbb*.json)
  {
    name: 'idle-inhibitor-on-orphaned-subsurface',
    summary: 'idle inhibitors on surface other and on sub-surface child of parent; parent destroyed (child orphaned); the other inhibitor destroyed',
    steps: [
      ...inhibitedSubsurface(),
      { obj: 'parent', req: 'destroy' }, { roundtrip: true }, { obj: 'i1', req: 'destroy' }, { roundtrip: true },
      { obj: 'child.sub', req: 'set_position', args: [1, 1] }, { obj: 'child.sub', req: 'destroy' }, { obj: 'i2', req: 'destroy' }, { roundtrip: true },
    ],
  },
  {
    name: 'idle-inhibitor-on-subsurface-disconnect',
    summary: 'idle inhibitors on surface other and on sub-surface child of parent; the client disconnects (the compositor\'s teardown orphans child)',
    steps: [
      ...inhibitedSubsurface(),
    ],
  },
  {
    name: 'idle-inhibitor-on-former-subsurface',
    summary: 'idle inhibitors on surface other and on sub-surface child of parent; child\'s wl_subsurface destroyed (legal); the other inhibitor destroyed',
    steps: [
      ...inhibitedSubsurface(),
      { obj: 'child.sub', req: 'destroy' }, { roundtrip: true }, { obj: 'i1', req: 'destroy' }, { roundtrip: true },
    ],
  },
  {
    name: 'decoration-for-inert-toplevel',
    summary: 'mapped toplevel t; t\'s wl_surface destroyed (its xdg objects live, now inert); get_toplevel_decoration for t.top',
    steps: [...BASE, { bind: 'zxdg_decoration_manager_v1', version: 1, as: 'deco' }, ...toplevel('t'), { obj: 't', req: 'destroy' }, { roundtrip: true }, { obj: 'deco', req: 'get_toplevel_decoration', args: [{ new: 'd1' }, { ref: 't.top' }] }, { roundtrip: true }],
  },
  {
    name: 'set-parent-inert-toplevel',
    summary: 'mapped toplevels a and t; t\'s wl_surface destroyed; a.top.set_parent(t.top)',
    steps: [...BASE, ...toplevel('a'), ...toplevel('t'), { obj: 't', req: 'destroy' }, { roundtrip: true }, { obj: 'a.top', req: 'set_parent', args: [{ ref: 't.top' }] }, ...attachCommit('a', 32, 32), { roundtrip: true }],
  },
  {
    name: 'idle-inhibitor-on-subsurface-compositor-error',
    summary: 'idle inhibitors on surface other and on sub-surface child of parent; then a request the compositor refuses itself (a second wl_data_source.set_actions), so that it ends the client in its own order',
    steps: [
      ...inhibitedSubsurface(), { bind: 'wl_data_device_manager', version: 3, as: 'ddm' },
      { obj: 'ddm', req: 'create_data_source', args: [{ new: 'src' }] }, { obj: 'src', req: 'set_actions', args: [1] }, { obj: 'src', req: 'set_actions', args: [1] }, { roundtrip: true },
    ],
  },
  {
    name: 'kde-decoration-surface-destroyed',
    summary: 'org_kde_kwin_server_decoration for surface a; a destroyed; request_mode(server) on the decoration',
    steps: [
      { bind: 'wl_compositor', version: 4, as: 'comp' }, { bind: 'org_kde_kwin_server_decoration_manager', version: 1, as: 'kde' }, ...surface('a'),
      { obj: 'kde', req: 'create', args: [{ new: 'd' }, { ref: 'a' }] }, { roundtrip: true }, { obj: 'a', req: 'destroy' }, { roundtrip: true },
      { obj: 'd', req: 'request_mode', args: [2] }, { roundtrip: true },
    ],
  },
  // found by the grammar fuzzer through the pair (test/fuzz/crash-corpus/weston-g18662520.json, minimized)
  {
    name: 'viewport-fractional-source-destroyed',
    summary: 'wp_viewport.set_source with a fractional size, the viewport destroyed, then the surface committed',
    steps: [
      { bind: 'wl_compositor', version: 4, as: 'comp' }, { bind: 'wp_viewporter', version: 1, as: 'vp' }, ...surface('a'),
      { obj: 'vp', req: 'get_viewport', args: [{ new: 'v' }, { ref: 'a' }] }, { obj: 'v', req: 'set_source', args: [27.5, 40.5, 22, 38.75] },
      { obj: 'v', req: 'destroy' }, { obj: 'a', req: 'commit' }, { roundtrip: true },
    ],
  },
];
