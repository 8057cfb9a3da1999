// The proxies load ws, prom-client and fast-xml-parser only when a flag needs them: each costs an idle proxy about 1 to 2 MiB.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

t.test('loading the host and guest commands loads none of our npm dependencies', async (t) => {
  const cli = join(__dirname, '../../cli');
  const packageJson = JSON.parse(readFileSync(join(__dirname, '../../../package.json'), 'utf8')) as { dependencies: Record<string, string> };
  const dependencies = Object.keys(packageJson.dependencies).filter((d) => d !== 'node-addon-api');
  t.ok(dependencies.includes('ws') && dependencies.includes('prom-client'), `dependencies: ${dependencies.join(', ')}`);
  const script = `
    require(${JSON.stringify(join(cli, 'host-command.js'))});
    require(${JSON.stringify(join(cli, 'guest-command.js'))});
    process.stdout.write(JSON.stringify(Object.keys(require.cache)));`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
  const loaded = (JSON.parse(r.stdout) as string[]).filter((m) => dependencies.some((d) => m.includes(`/node_modules/${d}/`)));
  t.same(loaded, [], 'ws, prom-client and fast-xml-parser wait for --channel ws:, --status and --protocol');
});
