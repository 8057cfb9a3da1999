// The wayland.xml errors the host posts itself, each refused with the entry a conforming compositor posts; what real clients send passes.
import t from 'tap';
import { checkFdLeaks } from '../helpers/fd-leak';
import { CompositorPools } from '../../host-proxy/model/compositor-pools';
import { DataDevice } from '../../host-proxy/model/data-device';
import { SurfaceRoles } from '../../host-proxy/model/surface-roles';
import { Surfaces } from '../../host-proxy/model/surfaces';
import { HostPools, ShmQuota } from '../../host-proxy/host-pools';
import { postedErrorEvent } from '../../host-proxy/posted-error';
import { FrameKind } from '../../protocol/channel-frames';
import { ObjectMap } from '../../protocol/object-map';
import { ProtocolError } from '../../protocol/protocol-error';
import { ProtocolRegistry } from '../../protocol/registry';
import { decodeArgs } from '../../protocol/wire-codec';
import type { ArgValue } from '../../protocol/wire-codec';
import type { FamilyChecker } from '../../host-proxy/model/checker';

checkFdLeaks(t);

type Step = [string, number, ArgValue[]] | ['event', string, number, ArgValue[]];

/** Runs the steps in order; the refusal's posted error (entry and object), or null when every step passed. */
function posted(checker: FamilyChecker, steps: Step[]): { entry: string; objectId: number; message: string } | null {
  for (const step of steps) {
    try {
      if (step[0] === 'event') checker.event?.(step[1] as string, step[2] as number, step[3] as ArgValue[]);
      else checker.request(step[0], step[1] as number, step[2] as ArgValue[]);
    } catch (e) {
      if (!(e instanceof ProtocolError) || e.posted === undefined) throw e;
      return { ...e.posted, message: e.message };
    }
  }
  return null;
}

const COMPOSITOR = 3;
const bind = (iface: string, version: number, id = COMPOSITOR): Step => ['wl_registry.bind', 2, [1, { interface: iface, version, id }]];
const surface = (id: number): Step => ['wl_compositor.create_surface', COMPOSITOR, [id]];

t.test('wl_surface: scale, transform and attach offsets', async (t) => {
  const cases: [string, Step[], string, number][] = [
    ['scale 0', [bind('wl_compositor', 4), surface(10), ['wl_surface.set_buffer_scale', 10, [0]]], 'wl_surface.invalid_scale', 10],
    ['scale -2', [bind('wl_compositor', 4), surface(10), ['wl_surface.set_buffer_scale', 10, [-2]]], 'wl_surface.invalid_scale', 10],
    ['transform 8', [surface(10), ['wl_surface.set_buffer_transform', 10, [8]]], 'wl_surface.invalid_transform', 10],
    ['transform -1', [surface(10), ['wl_surface.set_buffer_transform', 10, [-1]]], 'wl_surface.invalid_transform', 10],
    ['attach at 3,0 on version 5', [bind('wl_compositor', 5), surface(10), ['wl_surface.attach', 10, [20, 3, 0]]], 'wl_surface.invalid_offset', 10],
    ['attach of null at 0,-1 on version 6', [bind('wl_compositor', 6), surface(11), ['wl_surface.attach', 11, [null, 0, -1]]], 'wl_surface.invalid_offset', 11],
  ];
  for (const [what, steps, entry, objectId] of cases) {
    const got = posted(new Surfaces(), steps);
    t.equal(got?.entry, entry, `${what}: ${got?.message}`);
    t.equal(got?.objectId, objectId, `${what}: posted on the surface`);
  }
  t.equal(posted(new Surfaces(), [bind('wl_compositor', 4), surface(10), ['wl_surface.attach', 10, [20, 3, -4]]]), null, 'attach with an offset on version 4 passes');
  t.equal(posted(new Surfaces(), [bind('wl_compositor', 5), surface(10), ['wl_surface.attach', 10, [20, 0, 0]], ['wl_surface.set_buffer_scale', 10, [3]], ['wl_surface.set_buffer_transform', 10, [7]]]), null, 'what real clients send passes');
});

t.test('damage and region rectangles reach the compositor with their far edge inside int32', async (t) => {
  const s = new Surfaces();
  const max = 0x7fffffff;
  t.equal(s.rectangle('wl_surface.damage_buffer', [0, 0, max, max]), null, 'damage everything from 0,0 (mesa does) passes as it is');
  t.same(s.rectangle('wl_surface.damage', [10, 20, max, max]), [10, 20, max - 10, max - 20], 'x + width past INT32_MAX is clamped');
  t.same(s.rectangle('wl_region.add', [max, 0, 5, 5]), 'drop', 'nothing left of it: dropped');
  t.equal(s.rectangle('wl_region.subtract', [-100, -100, max, 10]), null, 'a negative origin does not overflow');
  t.equal(s.rectangle('wl_region.add', [0, 0, -1, 10]), 'drop', 'a negative width (a huge unsigned one for pixman) is dropped');
  t.equal(s.rectangle('wl_surface.damage', [0, 0, 10, 0]), 'drop', 'an empty rectangle is dropped');
  t.equal(s.rectangle('wl_surface.set_buffer_scale', [2]), null, 'other requests are not rectangles');
});

t.test('roles and the sub-surface tree post the XML entries', async (t) => {
  const sub = (subId: number, s: number, parent: number): Step => ['wl_subcompositor.get_subsurface', 5, [subId, s, parent]];
  const cases: [string, Step[], string][] = [
    ['its own parent', [sub(20, 10, 10)], 'wl_subcompositor.bad_surface'],
    ['an ancestor of its parent', [sub(20, 11, 10), sub(21, 10, 11)], 'wl_subcompositor.bad_surface'],
    ['placed next to a stranger', [sub(20, 11, 10), ['wl_subsurface.place_above', 20, [13]]], 'wl_subsurface.bad_surface'],
    ['a sub-surface as a cursor', [sub(20, 11, 10), ['wl_pointer.set_cursor', 40, [0, 11, 0, 0]]], 'wl_pointer.role'],
    ['a sub-surface as a drag icon', [sub(20, 11, 10), ['wl_data_device.start_drag', 41, [50, 10, 11, 0]]], 'wl_data_device.role'],
    ['a sub-surface as a tablet tool cursor', [sub(20, 11, 10), ['zwp_tablet_tool_v2.set_cursor', 42, [0, 11, 0, 0]]], 'zwp_tablet_tool_v2.role'],
    ['a tablet tool cursor becomes a sub-surface', [['zwp_tablet_tool_v2.set_cursor', 42, [0, 11, 0, 0]], sub(20, 11, 10)], 'wl_subcompositor.bad_surface'],
  ];
  for (const [what, steps, entry] of cases) t.equal(posted(new SurfaceRoles(), steps)?.entry, entry, what);
  t.equal(posted(new SurfaceRoles(), [['zwp_tablet_tool_v2.set_cursor', 42, [0, 11, 0, 0]], ['wl_pointer.set_cursor', 40, [1, 11, 0, 0]]]), null, 'one surface as the cursor of a pointer and a tablet tool');
});

t.test('wl_data_source and wl_data_offer: action masks, and sources and offers used for what they are not', async (t) => {
  const cases: [string, Step[], string, number][] = [
    ['source actions 8', [['wl_data_source.set_actions', 30, [8]]], 'wl_data_source.invalid_action_mask', 30],
    ['source actions after start_drag', [['wl_data_device.start_drag', 41, [30, 10, null, 0]], ['wl_data_source.set_actions', 30, [1]]], 'wl_data_source.invalid_source', 30],
    ['source actions after set_selection', [['wl_data_device.set_selection', 41, [30, 0]], ['wl_data_source.set_actions', 30, [1]]], 'wl_data_source.invalid_source', 30],
    ['a drag source as the selection', [['wl_data_source.set_actions', 30, [3]], ['wl_data_device.set_selection', 41, [30, 0]]], 'wl_data_source.invalid_source', 30],
    ['offer actions 0x10', [['wl_data_offer.set_actions', 0xff000010, [0x10, 0]]], 'wl_data_offer.invalid_action_mask', 0xff000010],
    ['offer preferred move outside copy', [['wl_data_offer.set_actions', 0xff000010, [1, 2]]], 'wl_data_offer.invalid_action', 0xff000010],
    ['offer preferred copy|move', [['wl_data_offer.set_actions', 0xff000010, [3, 3]]], 'wl_data_offer.invalid_action', 0xff000010],
    ['actions on the selection offer', [['event', 'wl_data_device.selection', 41, [0xff000010]], ['wl_data_offer.set_actions', 0xff000010, [1, 1]]], 'wl_data_offer.invalid_offer', 0xff000010],
    ['finish of the selection offer', [['event', 'wl_data_device.selection', 41, [0xff000010]], ['wl_data_offer.finish', 0xff000010, []]], 'wl_data_offer.invalid_finish', 0xff000010],
  ];
  for (const [what, steps, entry, objectId] of cases) {
    const got = posted(new DataDevice(), steps);
    t.equal(got?.entry, entry, `${what}: ${got?.message}`);
    t.equal(got?.objectId, objectId, `${what}: posted on the ${entry.split('.')[0]}`);
  }
  t.equal(posted(new DataDevice(), [
    ['wl_data_source.set_actions', 30, [7]], ['wl_data_device.start_drag', 41, [30, 10, null, 0]],
    ['event', 'wl_data_device.enter', 41, [1, 10, 0, 0, 0xff000011]], ['wl_data_offer.set_actions', 0xff000011, [3, 2]], ['wl_data_offer.finish', 0xff000011, []],
    ['wl_data_device.set_selection', 41, [31, 0]], ['wl_data_device.set_selection', 41, [null, 0]],
  ]), null, 'a drag and a selection as GTK makes them pass');
});

t.test('wl_shm: announced formats, strides of whole pixels inside the pool, fds that are pools', async (t) => {
  const hostPools = new HostPools(new ShmQuota(1 << 20, 1 << 20), () => true, null);
  t.teardown(() => hostPools.destroy());
  t.equal(hostPools.onFrame({ kind: FrameKind.ShmCreate, conn: 1, resource: 1, size: 4096 }), null, 'the guest pool exists');
  const pools = new CompositorPools(hostPools);
  const refused = (name: string, id: number, args: ArgValue[], resource?: number): { entry: string; objectId: number } | undefined => {
    try {
      pools.request(name, id, args, resource);
    } catch (e) {
      return (e as ProtocolError).posted;
    }
    return undefined;
  };
  const RGB565 = 0x36314752;
  t.same(refused('wl_shm.create_pool', 4, [5, 0, 4096], 9), { entry: 'wl_shm.invalid_fd', objectId: 4 }, 'an fd that is no pool');
  t.same(refused('wl_shm.create_pool', 4, [5, 0, 8192], 1), { entry: 'wl_shm.invalid_fd', objectId: 4 }, 'a pool larger than its memory');
  t.same(refused('wl_shm.create_pool', 4, [5, 0, 0], 1), { entry: 'wl_shm.invalid_stride', objectId: 4 }, 'a pool of 0 bytes (libwayland posts invalid_stride)');
  t.equal(refused('wl_shm.create_pool', 4, [5, 0, 2048], 1), undefined, 'a pool in its memory');
  t.same(refused('wl_shm_pool.create_buffer', 5, [10, 0, 8, 8, 32, RGB565]), { entry: 'wl_shm.invalid_format', objectId: 5 }, 'a format wl_shm.format did not announce');
  t.same(refused('wl_shm_pool.create_buffer', 5, [10, 0, 8, 8, 31, 0]), { entry: 'wl_shm.invalid_stride', objectId: 5 }, 'a stride shorter than a row of argb8888');
  t.same(refused('wl_shm_pool.create_buffer', 5, [10, 0, 8, 8, -32, 0]), { entry: 'wl_shm.invalid_stride', objectId: 5 }, 'a negative stride');
  t.same(refused('wl_shm_pool.create_buffer', 5, [10, 64, 16, 32, 64, 0]), { entry: 'wl_shm.invalid_stride', objectId: 5 }, 'a buffer past the pool');
  t.same(refused('wl_shm_pool.create_buffer', 5, [10, 0x7fffff00, 1, 0x7fffffff, 0x7fffffff, 0]), { entry: 'wl_shm.invalid_stride', objectId: 5 }, 'offset + stride * height past int32 does not wrap into the pool');
  t.same(refused('wl_shm_pool.resize', 5, [1024]), { entry: 'wl_shm.invalid_stride', objectId: 5 }, 'a shrinking pool');
  pools.event('wl_shm.format', 4, [RGB565]);
  t.equal(refused('wl_shm_pool.create_buffer', 5, [10, 0, 8, 8, 16, RGB565]), undefined, 'rgb565 once announced, with rows of 2 bytes a pixel');
  t.equal(refused('wl_shm_pool.create_buffer', 5, [11, 0, 32, 16, 128, 1]), undefined, 'xrgb8888 without an announcement');
  t.equal(refused('wl_buffer.destroy', 10, []), undefined);
  t.equal(refused('wl_buffer.destroy', 11, []), undefined);
});

t.test('requests to unknown objects and unknown opcodes post wl_display errors, as libwayland-server does', async (t) => {
  const registry = ProtocolRegistry.builtin();
  const objects = new ObjectMap(registry);
  const thrown = (fn: () => unknown): ProtocolError => {
    try {
      fn();
    } catch (e) {
      return e as ProtocolError;
    }
    throw new Error('nothing thrown');
  };
  const unknown = thrown(() => objects.request(77, 0));
  t.same(unknown.posted, { objectId: 1, entry: 'wl_display.invalid_object' }, unknown.message);
  const method = thrown(() => objects.request(1, 9));
  t.same(method.posted, { objectId: 1, entry: 'wl_display.invalid_method' }, method.message);
  const display = registry.interface('wl_display')!;
  const errorEvent = display.events.find((e) => e.name === 'error')!;
  const bytes = postedErrorEvent(registry, unknown.posted!, unknown.message)!;
  const { args } = decodeArgs(bytes, 8, bytes.byteLength, errorEvent, [], 'wl_display.error');
  t.same(args.slice(0, 2), [1, 0], 'the guest gets wl_display.error(wl_display#1, invalid_object = 0)');
});
