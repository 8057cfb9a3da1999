// Every protocol family's account of its XML error entries, in one table (for the docs and the test that keeps it complete).
import type { ErrorAccounts } from './checker';
import { XDG_SHELL_ERRORS } from './xdg-shell';

export const ERROR_ACCOUNTS: ErrorAccounts = {
  ...XDG_SHELL_ERRORS,
};
