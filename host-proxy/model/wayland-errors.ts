// The account of every error entry of wayland.xml (and the tablet tool's cursor role): which the host posts, which it leaves to the compositor and why.
import { byHost, leftToCompositor, type ErrorAccounts } from './checker';

const TEST = 'test/unit/wayland-errors.test.ts';
const SERVER_ONLY = 'only a server posts it, for its own failures (out of memory, a bug of its own); nothing a client sends makes the host post it';

export const WAYLAND_ERRORS: ErrorAccounts = {
  'wl_display.invalid_object': byHost(TEST),
  'wl_display.invalid_method': byHost(TEST),
  'wl_display.no_memory': leftToCompositor(SERVER_ONLY),
  'wl_display.implementation': leftToCompositor(SERVER_ONLY),
  'wl_shm.invalid_format': byHost(TEST),
  'wl_shm.invalid_stride': byHost(TEST),
  'wl_shm.invalid_fd': byHost(TEST),
  'wl_surface.invalid_scale': byHost(TEST),
  'wl_surface.invalid_transform': byHost(TEST),
  'wl_surface.invalid_size': leftToCompositor(
    'wlroots 0.15 (sway 1.7) only logs a buffer not divisible by the scale (wayland issue 194: clients such as cursor themes at scale 2 send odd sizes) and weston 10 does not check it; refusing it would end real apps, and the compositor handles the size either way',
  ),
  'wl_surface.invalid_offset': byHost(TEST),
  'wl_subcompositor.bad_surface': byHost(TEST),
  'wl_subsurface.bad_surface': byHost(TEST),
  'wl_pointer.role': byHost(TEST),
  'wl_data_device.role': byHost(TEST),
  'zwp_tablet_tool_v2.role': byHost(TEST),
  'wl_seat.missing_capability': leftToCompositor(
    'wlroots posts it itself when the seat never had the capability, weston 10 answers with an inert object; both are safe, and the host cannot know the capabilities the seat ever had before the compositor answers',
  ),
  'wl_data_offer.invalid_finish': byHost(TEST),
  'wl_data_offer.invalid_action_mask': byHost(TEST),
  'wl_data_offer.invalid_action': byHost(TEST),
  'wl_data_offer.invalid_offer': byHost(TEST),
  'wl_data_source.invalid_action_mask': byHost(TEST),
  'wl_data_source.invalid_source': byHost(TEST),
};
