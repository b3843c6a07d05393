// The terminal live view of `bsv-wire connect`: the pure renderer, and the real command under a
// pseudo-terminal (util-linux `script`) against the regtest node, screen captured and checked.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { PEER_COLUMNS, renderLiveView, type LiveState } from '../../lib/cli/live-view.js';
import { startRegtestNode } from '../helpers/regtest.js';
import { BIN, ROOT, startProcess, tempDir } from './fixtures/run-cli.js';

const state = (over: Partial<LiveState> = {}): LiveState => ({
  network: 'mainnet',
  uptimeMs: 65_000,
  listening: undefined,
  outbound: 1,
  inbound: 1,
  bytesIn: 3 * 1024 * 1024,
  bytesOut: 2048,
  bestHeight: 870_123,
  blocks: 2,
  txs: 345,
  known: 1200,
  banned: 3,
  peers: [
    { address: '203.0.113.5:8333', direction: 'outbound', type: 'outbound', state: 'ready', userAgent: '/Bitcoin SV:1.1.0/', version: 70016, services: 0x25n, height: 870_123, rttMs: 41.6, bytesIn: 3_000_000, bytesOut: 1024, connectedMs: 64_000 },
    { address: '[2001:db8::7]:8333', direction: 'inbound', type: 'inbound', state: 'ready', userAgent: `/${'x'.repeat(60)}/`, version: 70015, services: 1n, height: 870_122, rttMs: undefined, bytesIn: 100, bytesOut: 1024, connectedMs: 5000 },
  ],
  events: ['12:00:01 handshake 203.0.113.5:8333 outbound', '12:00:02 block 0000abcd height=870123 from 203.0.113.5:8333'],
  ...over,
});

t.test('render: header line, aligned peer table, last events, within the terminal size', (t) => {
  const lines = renderLiveView(state(), { columns: 120, rows: 20 });
  t.match(lines[0], 'bsv-wire mainnet | peers 1 out / 1 in | in 3.0 MB out 2.0 kB | best height 870123 | up 1m05s');
  t.match(lines[1], '2 blocks and 345 txs announced | 1200 addresses known, 3 banned');
  const head = lines.findIndex((l) => l.startsWith('ADDRESS'));
  t.same(lines[head]!.split(/\s+/), [...PEER_COLUMNS], 'column names in order');
  const row = lines[head + 1]!;
  t.match(row, /^203\.0\.113\.5:8333\s+out\s+\/Bitcoin SV:1\.1\.0\/\s+70016\s+0x25\s+870123\s+42ms\s+2\.9 MB\s+1\.0 kB\s+1m04s$/);
  // Columns line up: every value starts where its column name starts (left-aligned ones).
  t.equal(row.indexOf('out'), lines[head]!.indexOf('DIR'));
  t.equal(lines[head + 2]!.indexOf('in '), lines[head]!.indexOf('DIR'));
  t.match(lines[head + 2], /x…/, 'a long user agent is cut');
  t.ok(lines.includes('last events:'));
  t.equal(lines.at(-1), '12:00:02 block 0000abcd height=870123 from 203.0.113.5:8333');
  t.ok(lines.every((l) => l.length <= 120), 'no line wider than the terminal');
  t.ok(lines.length <= 20);

  const tiny = renderLiveView(state({ peers: Array.from({ length: 40 }, (_, i) => ({ ...state().peers[0]!, address: `10.0.0.${i}:8333` })) }), { columns: 60, rows: 15 });
  t.ok(tiny.length <= 15 && tiny.every((l) => l.length <= 60), 'fits a small terminal');
  t.ok(tiny.some((l) => /^… and \d+ more peers$/.test(l)), 'says how many peers did not fit');
  t.ok(tiny.includes('last events:'), 'events keep their place');

  const empty = renderLiveView(state({ peers: [], events: [], bestHeight: -1 }), { columns: 100, rows: 20 });
  t.match(empty[0], 'best height ?');
  t.ok(empty.includes('(no peers yet)') && empty.includes('(none yet)'));
  t.end();
});

const haveScript = spawnSync('sh', ['-c', 'command -v script'], { encoding: 'utf8' }).status === 0;
// `script` (util-linux, Essential on Debian) gives the CLI a pseudo-terminal; without it these checks skip visibly.
const needsScript = haveScript ? {} : { skip: 'util-linux `script` not on PATH (Debian: bsdutils) to give the CLI a pseudo-terminal' };

t.test('connect on a pseudo-terminal draws the live view in place', needsScript, async (t) => {
  const node = await startRegtestNode();
  t.teardown(() => node.stop());
  await node.mine(7);
  const dataDir = tempDir(t);
  const command = `stty cols 150 rows 30; exec '${process.execPath}' '${BIN}' connect --network regtest --peer 127.0.0.1:${node.p2pPort} --duration 4 --datadir '${dataDir}'`;
  const run = startProcess('script', ['-qec', command, '/dev/null'], { cwd: ROOT, killAfterMs: 30_000 });
  const result = await run.done;
  t.equal(result.code, 0, result.stderr);
  const raw = result.stdout;
  t.match(raw, '\x1b[?1049h', 'switches to the alternate screen');
  t.match(raw, '\x1b[?25h\x1b[?1049l', 'restores the cursor and the normal screen');
  // Each frame is painted from the top-left corner: split on "home" and strip the escapes.
  const frames = raw
    .split('\x1b[H')
    .slice(1)
    .map((f) => f.split('\x1b[?25h')[0]!.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, ''));
  t.ok(frames.length >= 3, `redrawn in place (${frames.length} frames)`);
  const screen = frames.filter((f) => f.includes('/bcash:1.1.1/') && !f.includes('(no peers yet)')).at(-1);
  t.ok(screen, 'a frame with the peer row');
  if (!screen) return;
  t.comment(`captured screen:\n${screen}`);
  const lines = screen.split('\n');
  t.match(lines[0], /^bsv-wire regtest \| peers 1 out \/ 0 in \| in \d+ B out \d+ B \| best height 7 \| up \ds$/);
  const head = lines.findIndex((l) => l.startsWith('ADDRESS'));
  t.same(lines[head]!.trim().split(/\s+/), [...PEER_COLUMNS]);
  const cells = lines[head + 1]!.trim().split(/\s{2,}/);
  t.same(cells.slice(0, 6), [`127.0.0.1:${node.p2pPort}`, 'out*', '/bcash:1.1.1/', '70015', '0x1', '7']);
  t.match(cells.at(-1), /^\ds$/, 'connected time');
  t.ok(lines.includes('last events:'));
  t.ok(lines.some((l) => /^\d\d:\d\d:\d\d handshake 127\.0\.0\.1:\d+ outbound \/bcash:1\.1\.1\//.test(l)), 'the handshake in the last events');
  const after = raw.split('\x1b[?1049l').at(-1)!.replace(/\r/g, '');
  t.match(after, /^stopping: closing peers, saving the peer store\nstop \(duration\) after 4s: \d+ bytes in/, 'the normal screen is back before shutdown, then a summary');
  t.notMatch(after, /\x1b\[\?1049h/, 'no frame drawn after the screen was given back');
});

t.test('headers on a pseudo-terminal shows a progress bar with headers per second and ETA', needsScript, async (t) => {
  const node = await startRegtestNode();
  t.teardown(() => node.stop());
  await node.mine(30);
  const dataDir = tempDir(t);
  const command = `stty cols 120 rows 30; exec '${process.execPath}' '${BIN}' headers --to tip --network regtest --peer 127.0.0.1:${node.p2pPort} --datadir '${dataDir}'`;
  const result = await startProcess('script', ['-qec', command, '/dev/null'], { cwd: ROOT, killAfterMs: 60_000 }).done;
  t.equal(result.code, 0, result.stderr);
  const screen = result.stdout.replace(/\r\x1b\[K/g, '\n').replace(/\r/g, '');
  t.match(screen, /\[#{30}\] 100\.0% height 30\/30  \d+ headers\/s  ETA \S+/, 'a full progress bar with headers/s and ETA');
  t.match(screen, /synced 30 headers to height 30 \([0-9a-f]{64}\) in \S+, \d+ headers\/s, consensus rules checked/);
});
