// Every protocol family's account of its XML error entries, in one table (for the docs and the test that keeps it complete).
import type { ErrorAccounts } from './checker';
import { WAYLAND_ERRORS } from './wayland-errors';

export const ERROR_ACCOUNTS: ErrorAccounts = {
  ...WAYLAND_ERRORS,
};
