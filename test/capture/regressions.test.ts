// Every capture under test/capture/regressions/ is a regression test: replayed, each session must close,
// and ban, as its notes say it did live (the check `bsv-wire replay DIR --check` makes). To add one, copy
// a peer folder of a --capture here (e.g. `cp -r CAPTURE/1.2.3.4_8333 test/capture/regressions/NAME`).
import t from 'tap';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { replayCapture } from '../../lib/capture/replay.js';
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
