// Tests' view of Wayland bytes through the proxies' own path: MessageBuffer frames them, decodeArgs decodes one.
import { MessageBuffer, type RawMessage } from '../../protocol/message-buffer';
import { HEADER_SIZE, decodeArgs, type ArgValue } from '../../protocol/wire-codec';
import type { MessageSpec } from '../../protocol/types';

/** A whole message as MessageBuffer frames it, with its body (the bytes after the header). */
export interface FramedMessage extends RawMessage {
  body: Uint8Array;
}

/**
 * The whole messages at the front of `bytes`, in order; a partial message at the end is left out.
 * Throws BAD_MESSAGE_SIZE as the proxies do for a header no valid message has.
 */
export function wholeMessages(bytes: Uint8Array, maxMessageSize?: number): FramedMessage[] {
  const input = new MessageBuffer(maxMessageSize);
  input.push(bytes, []);
  const out: FramedMessage[] = [];
  // the views stay valid: nothing is pushed into this buffer again
  for (let m = input.next(); m !== null; m = input.next()) out.push({ ...m, body: m.bytes.subarray(HEADER_SIZE) });
  return out;
}

/** The arguments of one framed message; takes its fds from the front of `fds` only if the message is valid. */
export function decodeMessage(m: RawMessage, spec: MessageSpec, fds: number[] = []): { args: ArgValue[]; fds: number[] } {
  return decodeArgs(m.bytes, HEADER_SIZE, m.size, spec, fds, `${spec.name}@${m.objectId}`);
}

/** The one whole message `bytes` holds, decoded against `spec`; throws if they hold less or more than one. */
export function decodeOne(bytes: Uint8Array, spec: MessageSpec, fds: number[] = [], maxMessageSize?: number): FramedMessage & { args: ArgValue[]; fds: number[] } {
  const messages = wholeMessages(bytes, maxMessageSize);
  const m = messages[0];
  if (messages.length !== 1 || m.size !== bytes.byteLength) throw new Error(`expected one whole message in ${bytes.byteLength} bytes, framed ${messages.length}`);
  return { ...m, ...decodeMessage(m, spec, fds) };
}
