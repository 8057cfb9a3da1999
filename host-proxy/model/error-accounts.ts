// Every protocol family's account of its XML error entries, in one table (for the docs and the test that keeps it complete).
import type { ErrorAccounts } from './checker';

export const ERROR_ACCOUNTS: ErrorAccounts = {
};
