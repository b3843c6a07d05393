// bsv-wire replay with the built command, offline: the regression captures kept in the repository
// replay to their recorded events; usage errors exit 2, a replay that differs from what is expected exits 1.
import t from 'tap';
import { fileURLToPath } from 'node:url';
import { jsonEvents, runCli } from './fixtures/run-cli.js';

const REGRESSIONS = fileURLToPath(new URL('../capture/regressions', import.meta.url));

t.test('replay --json --check of the kept captures: handshake, ban, close each, exit 0', async (t) => {
  const r = await runCli(['replay', REGRESSIONS, '--json', '--check']);
  t.equal(r.code, 0, r.stderr);
  const events = jsonEvents(r.stdout);
  t.same(events.map((e) => e.event), ['handshake', 'ban', 'close', 'handshake', 'ban', 'close']);
  t.match(events[2], { code: 'bad-magic', direction: 'outbound', peer: /^127\.0\.0\.1:\d+$/ });
  t.match(events[5], { code: 'protocol-violation' });
  t.match(events[4], { subnet: '127.0.0.1/32', reason: /oversized \(declares 52428800 bytes, limit 2097152\)/ });
  // Times are the capture's (November 2026 when they were made), not now.
  t.ok(events.every((e) => typeof e.time === 'string' && (e.time as string).startsWith('2026-11-30T08:26:1')), 'capture times');
  t.match(r.stderr, /replay oversized-inv session 1: 3 frames fed, last frame cut short; closed protocol-violation/);
});

t.test('a replay that ends otherwise than expected exits 1; usage errors exit 2', async (t) => {
  const wrong = await runCli(['replay', `${REGRESSIONS}/bad-magic`, '--expect-close', 'remote-closed']);
  t.equal(wrong.code, 1);
  t.match(wrong.stderr, /replay differs: expected close remote-closed, got bad-magic/);
  t.equal((await runCli(['replay'])).code, 2, 'no directory');
  t.equal((await runCli(['replay', '/nonexistent/capture'])).code, 2, 'not a directory');
  const stray = await runCli(['connect', '--capture-max-bytes', '5000']);
  t.equal(stray.code, 2, '--capture-max-bytes without --capture');
  t.match(stray.stderr, /need --capture DIR/);
});
