// CursorFile: what a restart reads back.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { CursorFile } from '../../lib/chain/block-cursor.js';

t.test('save then load; no file means no cursor; the temp file never stays', async (t) => {
  const dir = t.testdir();
  const file = new CursorFile(join(dir, 'cursor.json'));
  t.equal(file.load(), undefined, 'no cursor yet');
  const hash = Buffer.alloc(32, 7);
  await file.save({ height: 42, hash });
  t.same(file.load(), { height: 42, hash });
  await file.save({ height: -1, hash: undefined });
  t.same(file.load(), { height: -1, hash: undefined }, 'before the genesis block');
  t.notOk(existsSync(join(dir, 'cursor.json.tmp')), 'temp file renamed away');
});

t.test('a damaged cursor is an error, never a silent restart from scratch', (t) => {
  const dir = t.testdir();
  const path = join(dir, 'cursor.json');
  const file = new CursorFile(path);
  for (const body of ['', '{"format":"bsv-wire-cursor/1","height":"x"}', '{"format":"other","height":3}', '{"format":"bsv-wire-cursor/1","height":-5}']) {
    writeFileSync(path, body);
    t.throws(() => file.load(), `refused: ${JSON.stringify(body)}`);
  }
  t.end();
});
