// Policy without a compositor: which globals are offered at which version, and how policy files are read.
import t from 'tap';
import { NEVER_FORWARDED, Policy, parsePolicy } from '../../protocol/policy';
import { ProtocolRegistry } from '../../protocol/registry';

const registry = ProtocolRegistry.builtin();
const shmVersion = registry.interface('wl_shm')!.version;

t.test('by default every interface with XML is offered, at the lowest of the advertised and known versions', async (t) => {
  const p = new Policy();
  t.same(p.judge('wl_compositor', 4, registry), { allowed: true, version: 4 });
  t.same(p.judge('wl_shm', shmVersion + 5, registry), { allowed: true, version: shmVersion }, 'a newer compositor is capped at what the proxy knows');
  t.same(p.judge('zz_unknown_v9', 1, registry), { allowed: false, reason: 'no protocol XML for it' });
  t.equal(p.titlePrefix, '');
});

t.test('what cannot work across a VM is hidden whatever the file says', async (t) => {
  const p = new Policy({ allow: [...NEVER_FORWARDED] });
  for (const iface of NEVER_FORWARDED) {
    const v = p.judge(iface, 1, registry);
    if (registry.interface(iface) === undefined) t.same(v, { allowed: false, reason: 'no protocol XML for it' }, iface);
    else t.same(v, { allowed: false, reason: 'cannot work across a VM' }, iface);
  }
});

t.test('allow narrows, deny removes, versions cap', async (t) => {
  const p = new Policy({ allow: ['wl_compositor', 'wl_shm', 'wl_seat'], deny: ['wl_shm'], versions: { wl_seat: 2 } });
  t.same(p.judge('wl_compositor', 4, registry), { allowed: true, version: 4 });
  t.same(p.judge('wl_shm', 1, registry), { allowed: false, reason: 'denied by policy' }, 'deny wins over allow');
  t.same(p.judge('xdg_wm_base', 2, registry), { allowed: false, reason: 'not in the policy allow list' });
  t.same(p.judge('wl_seat', 7, registry), { allowed: true, version: 2 }, 'capped');
  t.same(p.judge('wl_seat', 1, registry), { allowed: true, version: 1 }, 'below the cap as advertised');
});

t.test('policy files: every key checked, with the field named', async (t) => {
  const p = parsePolicy('{"allow": ["wl_compositor"], "versions": {"wl_compositor": 3}, "titlePrefix": "[vm1] "}', 'p.json');
  t.same(p.judge('wl_compositor', 5, registry), { allowed: true, version: 3 });
  t.equal(p.titlePrefix, '[vm1] ');
  t.same(parsePolicy('{}', 'empty.json').judge('wl_shm', 1, registry), { allowed: true, version: 1 }, 'an empty file changes nothing');
  const bad: [string, RegExp][] = [
    ['[]', /expected a JSON object/],
    ['null', /expected a JSON object/],
    ['{"deny": [1]}', /'deny' must be a list of interface names/],
    ['{"versions": []}', /'versions' must map interface names to versions/],
    ['{"versions": {"wl_seat": 1.5}}', /versions.wl_seat must be a positive integer/],
    ['{"titlePrefix": 3}', /'titlePrefix' must be a string/],
    ['{"allow": ["wl_shm"], "extra": true}', /unknown key 'extra'/],
  ];
  for (const [text, want] of bad) t.throws(() => parsePolicy(text, 'p.json'), want, text);
  t.throws(() => parsePolicy('{', 'where.json'), { message: /^where\.json: not JSON/ }, 'the file is named');
});
