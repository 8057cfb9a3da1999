// OfferedGlobals: globals hidden or capped by the policy, removals of unseen globals dropped, binds checked.
import t from 'tap';
import { OfferedGlobals } from '../../link/offered-globals';
import { Policy } from '../../protocol/policy';
import { ProtocolRegistry } from '../../protocol/registry';

const registry = ProtocolRegistry.builtin();

t.test('offers what the policy allows, at its version, and remembers it for binds', async (t) => {
  const g = new OfferedGlobals(new Policy({ deny: ['wl_seat'], versions: { wl_output: 2 } }), registry);
  t.same(g.offer(1, 'wl_compositor', 4), { allowed: true, version: 4 });
  t.same(g.offer(2, 'wl_output', 4), { allowed: true, version: 2 }, 'capped');
  t.same(g.offer(3, 'wl_seat', 7), { allowed: false, reason: 'denied by policy' });
  t.same(g.offer(4, 'zwp_linux_dmabuf_v1', 4), { allowed: false, reason: 'cannot work across a VM' });
  t.match(g.offer(5, 'ext_idle_notifier_v1', 1), { allowed: false, reason: /^not offered by default: watches the host user's activity; allow it by name/ });
  t.doesNotThrow(() => g.checkBind(2, 1, { interface: 'wl_compositor', version: 4, id: 5 }));
  t.doesNotThrow(() => g.checkBind(2, 2, { interface: 'wl_output', version: 1, id: 6 }), 'a lower version is fine');
  const refused: [number, string, number, string][] = [
    [2, 'wl_output', 3, 'above the offered version'],
    [3, 'wl_seat', 1, 'a hidden global'],
    [4, 'zwp_linux_dmabuf_v1', 1, 'a global that cannot cross'],
    [5, 'ext_idle_notifier_v1', 1, 'a global hidden by default'],
    [1, 'wl_shm', 1, 'another interface under an offered name'],
    [99, 'wl_compositor', 1, 'a name never advertised'],
  ];
  for (const [name, iface, version, what] of refused) {
    t.throws(() => g.checkBind(2, name, { interface: iface, version, id: 7 }), { code: 'UNKNOWN_INTERFACE', message: /not offered to this client/ }, what);
  }
});

t.test('a global allowed by name is offered and can be bound', async (t) => {
  const g = new OfferedGlobals(new Policy({ allow: ['ext_idle_notifier_v1'] }), registry);
  t.same(g.offer(5, 'ext_idle_notifier_v1', 1), { allowed: true, version: 1 });
  t.doesNotThrow(() => g.checkBind(2, 5, { interface: 'ext_idle_notifier_v1', version: 1, id: 8 }));
});

t.test('a removed global cannot be bound, and removals of unseen globals are dropped', async (t) => {
  const g = new OfferedGlobals(new Policy({ deny: ['wl_seat'] }), registry);
  g.offer(1, 'wl_compositor', 4);
  g.offer(3, 'wl_seat', 7);
  t.equal(g.remove(3), false, 'the client never saw wl_seat: its removal is dropped');
  t.equal(g.remove(1), true);
  t.equal(g.remove(1), false, 'once');
  t.throws(() => g.checkBind(2, 1, { interface: 'wl_compositor', version: 1, id: 5 }), { code: 'UNKNOWN_INTERFACE' });
});
