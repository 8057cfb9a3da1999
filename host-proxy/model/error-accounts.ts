// Every protocol family's account of its XML error entries, in one table (for the docs and the test that keeps it complete).
import type { ErrorAccounts } from './checker';
import { DECORATION_ERRORS } from './decorations';
import { SMALL_EXTENSION_ERRORS } from './small-extensions';
import { WAYLAND_ERRORS } from './wayland-errors';
import { XDG_SHELL_ERRORS } from './xdg-shell';

export const ERROR_ACCOUNTS: ErrorAccounts = {
  ...WAYLAND_ERRORS,
  ...XDG_SHELL_ERRORS,
  ...DECORATION_ERRORS,
  ...SMALL_EXTENSION_ERRORS,
};
