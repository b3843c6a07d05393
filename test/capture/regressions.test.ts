// Every capture under test/capture/regressions/ is a regression test: replayed, each session must close,
// and ban, as its notes say it did live (the check `bsv-wire replay DIR --check` makes). To add one, copy
// a peer folder of a --capture here (e.g. `cp -r CAPTURE/1.2.3.4_8333 test/capture/regressions/NAME`).
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { replayCapture } from '../../lib/capture/replay.js';
import { RecordParser } from '../../lib/capture/format.js';
import { checkFailure } from '../../lib/cli/replay.js';
import { userAgentPolicyFor } from '../../lib/cli/common.js';

const DIR = fileURLToPath(new URL('./regressions', import.meta.url));
const cases = readdirSync(DIR).sort();

t.ok(cases.length >= 2, 'the captures kept here');
for (const name of cases) {
  t.test(name, async (t) => {
    const results = await replayCapture({ folder: join(DIR, name), peerOptionsFor: (network) => ({ userAgentPolicy: userAgentPolicyFor(network) }) });
    t.ok(results.length > 0, 'at least one session');
    for (const r of results) {
      t.ok(r.session.close, `session ${r.session.index + 1} has its live close in the notes`);
      t.equal(checkFailure(r), undefined, `session ${r.session.index + 1} closed ${r.close?.code} (live ${r.session.close?.code}), ban ${r.ban ?? 'none'}`);
    }
  });
}

// An independent reader of the format, in Python, following Core's parser: 8-byte LE time, 12-byte
// command cut at the first NUL, 4-byte LE length, then that many payload bytes, until the file ends.
const PY_READER = `
import sys, struct
for path in sys.argv[1:]:
    with open(path, 'rb') as f:
        while True:
            head = f.read(24)
            if not head:
                break
            if len(head) < 24:
                print('short-header'); break
            time, = struct.unpack('<Q', head[:8])
            cmd = head[8:20].split(b'\\x00', 1)[0].decode()
            length, = struct.unpack('<I', head[20:24])
            body = f.read(length)
            print(cmd, length, len(body), time)
`;

const hasPython = spawnSync('python3', ['-c', 'print(1)'], { encoding: 'utf8' }).status === 0;

t.test('an independent Python reader of the format sees the same records', { skip: hasPython ? false : 'python3 is not installed' }, async (t) => {
  for (const name of cases) {
    for (const file of ['msgs_recv.dat', 'msgs_sent.dat']) {
      const path = join(DIR, name, file);
      const py = spawnSync('python3', ['-c', PY_READER, path], { encoding: 'utf8' });
      t.equal(py.status, 0, py.stderr);
      const ours: string[] = [];
      let cmd = '';
      let length = 0;
      let got = 0;
      let time = 0n;
      const flush = (): void => void ours.push(`${cmd} ${length} ${got} ${time}`);
      let open = false;
      for (const ev of new RecordParser().push(readFileSync(path))) {
        if (ev.type === 'record') {
          if (open) flush();
          ({ command: cmd, length, timeUs: time } = ev);
          got = 0;
          open = true;
        } else if (ev.type === 'payload') got += ev.bytes.length;
      }
      if (open) flush();
      t.same(py.stdout.trim().split('\n'), ours, `${name}/${file}: ${ours.length} records`);
    }
  }
});
