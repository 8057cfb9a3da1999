// Tests protocol/edited-messages.ts: dropped and replaced messages, the rest as views of the original.
import t from 'tap';
import { checkFdLeaks } from '../helpers/fd-leak';
import { EditedMessages } from '../../protocol/edited-messages';

checkFdLeaks(t);
const bytes = (...b: number[]) => Uint8Array.from(b);
const data = bytes(1, 1, 2, 2, 3, 3, 4, 4); // four "messages" of two bytes

t.test('drops and replacements keep the order and the untouched runs', (t) => {
  const e = new EditedMessages(data);
  e.replace(2, 4, null);
  e.replace(4, 6, bytes(9, 9, 9));
  t.same([...e.bytes()], [1, 1, 9, 9, 9, 4, 4]);
  t.end();
});

t.test('edits at either end', (t) => {
  const first = new EditedMessages(data);
  first.replace(0, 2, null);
  const rest = first.bytes();
  t.same([...rest], [2, 2, 3, 3, 4, 4]);
  t.equal(rest.buffer, data.buffer, 'a single untouched run is a view, not a copy');
  const last = new EditedMessages(data);
  last.replace(6, 8, bytes(7));
  t.same([...last.bytes()], [1, 1, 2, 2, 3, 3, 7]);
  t.end();
});

t.test('everything dropped gives no bytes', (t) => {
  const e = new EditedMessages(data);
  for (let i = 0; i < 8; i += 2) e.replace(i, i + 2, null);
  t.equal(e.bytes().byteLength, 0);
  t.end();
});
