// Every XML error entry a guest can reach through the default globals has an account, and the docs table says so.
import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ERROR_ACCOUNTS } from '../../host-proxy/model/error-accounts';
import { DEFAULT_OFFERED } from '../../protocol/default-offer';
import { ProtocolRegistry } from '../../protocol/registry';
import { errorEntries, reachableInterfaces } from '../../protocol/reachable-interfaces';
import { ERROR_TABLE_PATH, renderErrorTable } from '../../scripts/generate-error-table';

const root = resolve(__dirname, '../../..');
const registry = ProtocolRegistry.builtin();
const entries = errorEntries(registry, reachableInterfaces(registry, DEFAULT_OFFERED)).map((e) => e.entry);

t.test('every error entry of every interface the default globals reach has an account', async (t) => {
  t.ok(entries.length > 40, `${entries.length} entries`);
  t.same(entries.filter((e) => ERROR_ACCOUNTS[e] === undefined), [], 'entries without an account');
});

t.test('no account names an entry the protocol tables lack', async (t) => {
  const known = new Set(errorEntries(registry, registry.interfaceNames()).map((e) => e.entry));
  t.same(Object.keys(ERROR_ACCOUNTS).filter((e) => !known.has(e)), []);
});

t.test('each entry the host enforces names a test that exists and sends it', async (t) => {
  for (const [entry, account] of Object.entries(ERROR_ACCOUNTS)) {
    if (account.enforcedBy !== 'host') {
      t.ok(account.because.length > 20, `${entry}: says why the compositor's check is safe`);
      continue;
    }
    const path = resolve(root, account.test);
    t.ok(existsSync(path), `${entry}: ${account.test} exists`);
    if (existsSync(path)) t.ok(readFileSync(path, 'utf8').includes(`'${entry}'`), `${entry}: ${account.test} checks '${entry}'`);
  }
});

t.test(`${ERROR_TABLE_PATH} is the table the accounts make`, async (t) => {
  t.equal(readFileSync(resolve(root, ERROR_TABLE_PATH), 'utf8'), renderErrorTable(registry), 'run `node dist/scripts/generate-error-table.js`');
});
