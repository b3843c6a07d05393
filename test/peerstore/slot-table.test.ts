import t from 'tap';
import { SlotTable } from '../../lib/peerstore/slot-table.js';
import { seededRandom } from './fixtures/prng.js';

t.test('SlotTable matches a Map under random set/delete, and picks only present items', (t) => {
  const random = seededRandom(11);
  const table = new SlotTable<string>();
  const model = new Map<number, string>();
  let mismatches = 0;
  for (let i = 0; i < 20_000; i++) {
    const slot = Math.floor(random() * 500);
    if (random() < 0.55) {
      table.set(slot, `v${i}`);
      model.set(slot, `v${i}`);
    } else if (table.delete(slot) !== model.delete(slot)) {
      mismatches++;
    }
    if (table.size !== model.size || table.get(slot) !== model.get(slot) || table.has(slot) !== model.has(slot)) mismatches++;
    const picked = table.pick(random);
    if (picked === undefined ? model.size !== 0 : ![...model.values()].includes(picked)) mismatches++;
  }
  t.equal(mismatches, 0);
  t.same([...table.values()].sort(), [...model.values()].sort());
  table.clear();
  t.equal(table.size, 0);
  t.equal(table.pick(random), undefined);
  t.end();
});

t.test('SlotTable.pick is uniform', (t) => {
  const random = seededRandom(5);
  const table = new SlotTable<number>();
  for (let i = 0; i < 10; i++) table.set(i * 7, i);
  table.delete(21); // item 3 gone: the last item is swapped into its place
  const counts = new Array<number>(10).fill(0);
  for (let i = 0; i < 9000; i++) counts[table.pick(random)!]++;
  t.equal(counts[3], 0);
  for (const [item, n] of counts.entries()) if (item !== 3) t.ok(n > 850 && n < 1150, `item ${item}: ${n}/9000`);
  t.end();
});
