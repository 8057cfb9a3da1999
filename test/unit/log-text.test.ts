// Guest text in log lines: every unsafe character becomes a visible escape, long text is cut with a count; formatted messages use it.
import t from 'tap';
import { checkFdLeaks } from '../helpers/fd-leak';
import { GUEST_TEXT_MAX, escapeLogText, guestText, quotedGuestText } from '../../protocol/log-text';
import { formatMessage } from '../../protocol/format';
import { ProtocolRegistry } from '../../protocol/registry';

checkFdLeaks(t);

/** Whether `s` holds a character that could end a line, drive a terminal or reorder text. */
function hasUnsafe(s: string): boolean {
  return /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/u.test(s);
}

t.test('plain text passes unchanged', async (t) => {
  t.equal(guestText('weston-terminal 12.0 (ü, 日本, 🙂)'), 'weston-terminal 12.0 (ü, 日本, 🙂)');
  t.equal(guestText(''), '');
  t.equal(escapeLogText('wl_surface#12.commit()'), 'wl_surface#12.commit()');
});

t.test('control characters, DEL, C1, bidi and separators become visible escapes', async (t) => {
  const cases: [string, string][] = [
    ['a\nb', 'a\\nb'],
    ['a\r\nb\tc', 'a\\r\\nb\\tc'],
    ['\x1b[2J\x1b]0;title\x07', '\\x1b[2J\\x1b]0;title\\x07'],
    ['nul\0', 'nul\\x00'],
    ['del\x7f', 'del\\x7f'],
    ['csi\u009b31m', 'csi\\u009b31m'],
    ['nel\u0085', 'nel\\u0085'],
    ['\u202eevil\u202c', '\\u202eevil\\u202c'],
    ['\u2066iso\u2069', '\\u2066iso\\u2069'],
    ['zw\u200bsp\ufeff', 'zw\\u200bsp\\ufeff'],
    ['ls\u2028ps\u2029', 'ls\\u2028ps\\u2029'],
    ['lone \ud800 high, lone \udc00 low', 'lone \\ud800 high, lone \\udc00 low'],
  ];
  for (const [input, want] of cases) {
    // the names are TAP lines: U+2028 and friends in them would split the line for tap's parser
    const named = want;
    t.equal(guestText(input), want, named);
    t.equal(escapeLogText(input), want, `escapeLogText ${named}`);
    t.notOk(hasUnsafe(guestText(input)), `nothing unsafe left in ${named}`);
  }
  // an escape the guest typed cannot pass for one of ours: its backslash is doubled (host text keeps its own)
  t.equal(guestText('back\\slash'), 'back\\\\slash');
  t.equal(escapeLogText('back\\slash'), 'back\\slash');
  t.equal(guestText('\\n'), '\\\\n');
  t.not(guestText('\\n'), guestText('\n'));
});

t.test('invalid UTF-8 reaches a string as U+FFFD (visible) and stays that way', async (t) => {
  const decoded = new TextDecoder().decode(new Uint8Array([0x41, 0xff, 0xc3, 0x28, 0xed, 0xa0, 0x80]));
  t.notOk(hasUnsafe(guestText(decoded)), 'no control character');
  t.match(guestText(decoded), /^A\ufffd/);
});

t.test('long text is cut to the limit with a note of how much was left out', async (t) => {
  const long = 'x'.repeat(4000);
  const cut = guestText(long);
  t.equal(cut, `${'x'.repeat(GUEST_TEXT_MAX)}…[${4000 - GUEST_TEXT_MAX} more chars]`);
  t.equal(guestText('abcdef', 4), 'abcd…[2 more chars]');
  t.equal(guestText('abcd', 4), 'abcd', 'exactly the limit is not cut');
  // escapes count against the limit: the cut never lands inside one
  t.equal(guestText('ab\ncd', 3), 'ab…[3 more chars]');
  t.equal(guestText('ab\ncd', 4), 'ab\\n…[2 more chars]');
  // a surrogate pair is kept whole or left out whole
  t.equal(guestText('a🙂b', 2), 'a…[3 more chars]');
  t.equal(guestText('a🙂b', 3), 'a🙂…[1 more chars]');
  const hostile = `${'A'.repeat(10)}\nwayvio host: FORGED\x1b[31m`.repeat(200);
  const shown = guestText(hostile);
  t.ok(shown.length <= GUEST_TEXT_MAX + 30, `bounded: ${shown.length} chars`);
  t.notOk(hasUnsafe(shown), 'and escaped');
});

t.test('quoted guest text escapes quotes too', async (t) => {
  t.equal(quotedGuestText('say "hi"\n'), '"say \\"hi\\"\\n"');
});

t.test('formatted Wayland messages quote, escape and cut the strings in them', async (t) => {
  const registry = ProtocolRegistry.builtin();
  const toplevel = registry.interface('xdg_toplevel')!;
  const setTitle = toplevel.requests.find((r) => r.name === 'set_title')!;
  t.equal(formatMessage('xdg_toplevel', 9, setTitle, ['a\nb\x1b[1m\u202e']), 'xdg_toplevel#9.set_title("a\\nb\\x1b[1m\\u202e")');
  const line = formatMessage('xdg_toplevel', 9, setTitle, [`x${'\n'.repeat(4000)}`]);
  t.ok(line.length < GUEST_TEXT_MAX + 60, `a 4000-char title takes ${line.length} chars`);
  t.match(line, /more chars\]"\)$/);
  const registryIface = registry.interface('wl_registry')!;
  const bind = registryIface.requests.find((r) => r.name === 'bind')!;
  t.equal(formatMessage('wl_registry', 2, bind, [7, { interface: 'wl_seat\nFORGED', version: 1, id: 5 }]), 'wl_registry#2.bind(7, new id wl_seat\\nFORGED#5 v1)');
});
