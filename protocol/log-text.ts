// Makes text from the other side safe in a log line: no byte of it can end the line, move the cursor or forge a prefix.

/** Characters of a guest string kept in a log line; the rest is cut with a note of how much. */
export const GUEST_TEXT_MAX = 200;

/**
 * Control characters (C0, DEL, C1), format characters (bidi overrides and isolates, zero-width ones),
 * line and paragraph separators, lone surrogates: what can end a line, drive a terminal or reorder text.
 */
const UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/u;
const UNSAFE_ALL = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/gu;
/** In guest text also the backslash, so that a guest cannot write what looks like one of our escapes. */
const GUEST_UNSAFE = /[\\\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/u;

const NAMED: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escapeChar(c: string): string {
  const named = NAMED[c];
  if (named !== undefined) return named;
  const code = c.codePointAt(0) as number;
  return code < 0x80 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/**
 * `s` with every unsafe character written as a visible escape (`\n`, `\x1b`, `\u202e`), whatever its length:
 * the logger's last guard for every line. Backslashes stay, so host text reads as written.
 */
export function escapeLogText(s: string): string {
  return UNSAFE.test(s) ? s.replace(UNSAFE_ALL, escapeChar) : s;
}

/**
 * A guest-supplied string as it may appear in a log line: escaped, and at most `max` characters of
 * escaped text followed by `…[N more chars]` when longer (N counts the characters of `s` left out).
 */
export function guestText(s: string, max = GUEST_TEXT_MAX): string {
  if (s.length <= max && !GUEST_UNSAFE.test(s)) return s;
  let out = '';
  let i = 0;
  while (i < s.length) {
    const code = s.codePointAt(i) as number;
    const c = String.fromCodePoint(code);
    const piece = GUEST_UNSAFE.test(c) ? escapeChar(c) : c;
    if (out.length + piece.length > max) break;
    out += piece;
    i += c.length;
  }
  return i < s.length ? `${out}…[${s.length - i} more chars]` : out;
}

/** guestText() in double quotes, with `"` escaped too: for strings inside formatted messages. */
export function quotedGuestText(s: string, max = GUEST_TEXT_MAX): string {
  return `"${guestText(s, max).replace(/"/g, '\\"')}"`;
}
