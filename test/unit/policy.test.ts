// Policy without a compositor: which globals are offered at which version, and how policy files are read.
import t from 'tap';
import { DEFAULT_OFFERED, HIDDEN_BY_DEFAULT } from '../../protocol/default-offer';
import { NEVER_FORWARDED, Policy, parsePolicy } from '../../protocol/policy';
import { ProtocolRegistry } from '../../protocol/registry';

const registry = ProtocolRegistry.builtin();
const shmVersion = registry.interface('wl_shm')!.version;

t.test('by default the host offers DEFAULT_OFFERED, at the lowest of the advertised and known versions', async (t) => {
  const p = new Policy();
  t.same(p.judge('wl_compositor', 4, registry), { allowed: true, version: 4 });
  t.same(p.judge('wl_shm', shmVersion + 5, registry), { allowed: true, version: shmVersion }, 'a newer compositor is capped at what the proxy knows');
  t.same(p.judge('zz_unknown_v9', 1, registry), { allowed: false, reason: 'no protocol XML for it' });
  for (const iface of DEFAULT_OFFERED) t.equal(p.judge(iface, 1, registry).allowed, true, `${iface} offered`);
  t.equal(p.titlePrefix, '');
});

t.test('anything else is hidden by default, with the risk it carries and how to allow it', async (t) => {
  const p = new Policy();
  t.same(p.judge('ext_idle_notifier_v1', 1, registry), {
    allowed: false, reason: `not offered by default: ${HIDDEN_BY_DEFAULT.ext_idle_notifier_v1}; allow it by name in the policy file`,
  });
  const other = p.judge('zwp_keyboard_shortcuts_inhibit_manager_v1', 1, registry);
  t.match(other, { allowed: false, reason: /^not offered by default: turns off the host's keyboard shortcuts/ });
  const unlisted = p.judge('zxdg_shell_v6', 1, registry);
  t.match(unlisted, { allowed: false, reason: /^not offered by default: / });
  const noModel = new Policy().judge('zwp_linux_dmabuf_v1', 1, registry);
  t.same(noModel, { allowed: false, reason: 'cannot work across a VM' }, 'what cannot cross says so, not "allow it"');
});

t.test('on the guest side the host has chosen already: only deny and versions apply', async (t) => {
  const p = new Policy({ deny: ['wl_shm'], versions: { ext_idle_notifier_v1: 1 } }, 'guest');
  t.same(p.judge('ext_idle_notifier_v1', 1, registry), { allowed: true, version: 1 }, 'what the host offers passes');
  t.same(p.judge('wl_shm', 1, registry), { allowed: false, reason: 'denied by policy' });
  t.same(p.judge('zwp_linux_dmabuf_v1', 3, registry), { allowed: false, reason: 'cannot work across a VM' });
  t.same(parsePolicy('{"deny": ["wl_seat"]}', 'g.json', 'guest').judge('ext_session_lock_manager_v1', 1, registry), { allowed: true, version: 1 });
});

t.test('what cannot work across a VM is hidden whatever the file says', async (t) => {
  const p = new Policy({ allow: [...NEVER_FORWARDED] });
  for (const iface of NEVER_FORWARDED) {
    const v = p.judge(iface, 1, registry);
    if (registry.interface(iface) === undefined) t.same(v, { allowed: false, reason: 'no protocol XML for it' }, iface);
    else t.same(v, { allowed: false, reason: 'cannot work across a VM' }, iface);
  }
});

t.test('allow adds to the defaults, deny removes, versions cap', async (t) => {
  const p = new Policy({ allow: ['ext_idle_notifier_v1', 'wl_shm', 'wl_seat'], deny: ['wl_shm', 'zwp_keyboard_shortcuts_inhibit_manager_v1'], versions: { wl_seat: 2 } });
  t.same(p.judge('wl_compositor', 4, registry), { allowed: true, version: 4 }, 'the defaults stay without being listed');
  t.same(p.judge('xdg_wm_base', 2, registry), { allowed: true, version: 2 });
  t.same(p.judge('ext_idle_notifier_v1', 1, registry), { allowed: true, version: 1 }, 'allowed by name');
  t.same(p.judge('wl_shm', 1, registry), { allowed: false, reason: 'denied by policy' }, 'deny wins over allow');
  t.same(p.judge('zwp_keyboard_shortcuts_inhibit_manager_v1', 1, registry), { allowed: false, reason: 'denied by policy' });
  t.same(p.judge('zwp_text_input_manager_v1', 1, registry).allowed, false, 'not allowed, not default');
  t.same(p.judge('wl_seat', 7, registry), { allowed: true, version: 2 }, 'capped');
  t.same(p.judge('wl_seat', 1, registry), { allowed: true, version: 1 }, 'below the cap as advertised');
});

t.test('policy files: every key checked, with the field named', async (t) => {
  const p = parsePolicy('{"allow": ["ext_idle_notifier_v1"], "versions": {"wl_compositor": 3}, "titlePrefix": "[vm1] "}', 'p.json');
  t.same(p.judge('wl_compositor', 5, registry), { allowed: true, version: 3 });
  t.same(p.judge('ext_idle_notifier_v1', 1, registry), { allowed: true, version: 1 });
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
