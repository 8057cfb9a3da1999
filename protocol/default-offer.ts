// The globals the host offers a guest by default: those whose rules the host's request model covers (data only).

/**
 * Offered unless the policy file denies them. Every error entry of every interface reachable from these is
 * accounted for in host-proxy/model (enforced by the host, or left to the compositor for a stated reason).
 */
export const DEFAULT_OFFERED: readonly string[] = [
  'wl_compositor', 'wl_subcompositor', 'wl_shm', 'wl_seat', 'wl_output', 'wl_data_device_manager',
  'xdg_wm_base', 'zxdg_output_manager_v1', 'zxdg_decoration_manager_v1', 'org_kde_kwin_server_decoration_manager',
  'wp_viewporter', 'wp_fractional_scale_manager_v1', 'wp_presentation', 'wp_single_pixel_buffer_manager_v1',
  'wp_content_type_manager_v1', 'wp_tearing_control_manager_v1', 'xdg_activation_v1',
  'zwp_primary_selection_device_manager_v1', 'zwp_pointer_constraints_v1', 'zwp_relative_pointer_manager_v1',
  'zwp_pointer_gestures_v1', 'zwp_text_input_manager_v3', 'zwp_idle_inhibit_manager_v1', 'zwp_input_timestamps_manager_v1',
  'zwp_tablet_manager_v2',
];

/** Globals a compositor may advertise that stay hidden unless the policy file allows them by name, and why. */
export const HIDDEN_BY_DEFAULT: Readonly<Record<string, string>> = {
  zwlr_screencopy_manager_v1: 'reads the whole host screen, not only the guest\'s windows',
  ext_image_copy_capture_manager_v1: 'reads the whole host screen, not only the guest\'s windows',
  zwlr_export_dmabuf_manager_v1: 'reads the whole host screen, not only the guest\'s windows',
  zwlr_data_control_manager_v1: 'reads and sets the host clipboard without focus',
  ext_data_control_manager_v1: 'reads and sets the host clipboard without focus',
  zwp_virtual_keyboard_manager_v1: 'types into any host window',
  zwlr_virtual_pointer_manager_v1: 'moves and clicks the host pointer anywhere',
  zwlr_input_inhibit_manager_v1: 'takes all host input away from other clients',
  zwp_keyboard_shortcuts_inhibit_manager_v1: 'turns off the host\'s keyboard shortcuts while a guest window has focus',
  xwayland_keyboard_grab_manager_v1: 'grabs the host keyboard',
  zwlr_output_manager_v1: 'changes the host\'s outputs',
  zwlr_output_power_manager_v1: 'turns host outputs off',
  zwlr_gamma_control_manager_v1: 'changes the host\'s colours',
  zwlr_layer_shell_v1: 'draws over or under every host window (panels, lock screens, overlays)',
  ext_session_lock_manager_v1: 'locks the host session',
  zwlr_foreign_toplevel_manager_v1: 'lists and controls every host window',
  ext_foreign_toplevel_list_v1: 'lists every host window',
  ext_idle_notifier_v1: 'watches the host user\'s activity',
  zxdg_exporter_v1: 'hands out handles that other host clients\' windows can be attached to',
  zxdg_exporter_v2: 'hands out handles that other host clients\' windows can be attached to',
  zxdg_importer_v1: 'attaches guest windows to host windows of other clients',
  zxdg_importer_v2: 'attaches guest windows to host windows of other clients',
  zwp_input_method_manager_v2: 'acts as the host\'s input method for every window',
  zwp_input_method_v1: 'acts as the host\'s input method for every window',
  zwp_fullscreen_shell_v1: 'a kiosk shell for a single client',
  xwayland_shell_v1: 'meant for the compositor\'s own Xwayland only',
  wl_shell: 'deprecated; the request model covers xdg-shell only',
  zxdg_shell_v6: 'an unstable predecessor of xdg-shell that the request model does not cover',
  zwp_tablet_manager_v1: 'superseded by zwp_tablet_manager_v2',
  zwp_text_input_manager_v1: 'superseded by zwp_text_input_manager_v3',
  wp_drm_lease_device_v1: 'hands out host display hardware',
  org_kde_kwin_idle: 'watches the host user\'s activity',
  zwp_input_panel_v1: 'shows an input method panel over every host window',
  weston_desktop_shell: 'meant for weston\'s own shell client (panel, background, lock screen)',
  weston_screenshooter: 'reads the whole host screen, not only the guest\'s windows',
  weston_debug_v1: 'streams the compositor\'s debug logs, which describe every host client',
};
