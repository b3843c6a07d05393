// bsv-wire --log-level against a real bcash regtest node: pino's JSON lines on stderr (each line parses,
// with pino's level/time/msg), the handshake record among them, stdout left to the command; and without
// the flag, nothing on stderr. Only loopback is touched.
import t, { type Test } from 'tap';
import { startRegtestNode, type RegtestNode } from '../helpers/regtest.js';
import { runCli, tempDir } from './fixtures/run-cli.js';
import { TestDnsServer } from '../helpers/dns-server.js';

let node: RegtestNode;
let height = 0;

t.before(async () => {
  node = await startRegtestNode();
  await node.mine(12);
  height = (await node.rpc('getblockcount')) as number;
});
t.teardown(() => node?.stop());

/** pino's lines: every non-empty stderr line must parse (a line that does not fails the test). */
function logLines(t: Test, stderr: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of stderr.split('\n').filter((l) => l !== '')) {
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      t.fail(`a stderr line is not JSON: ${line}`);
    }
  }
  return out;
}

t.test('connect --log-level debug writes JSON log lines to stderr, the handshake record among them', async (t) => {
  const dataDir = tempDir(t);
  const result = await runCli(['connect', '--network', 'regtest', '--peer', `127.0.0.1:${node.p2pPort}`, '--duration', '4', '--datadir', dataDir, '--log-level', 'debug']);
  if (result.code !== 0) t.comment(result.stderr);
  t.equal(result.code, 0, 'exit 0');
  const records = logLines(t, result.stderr);
  t.ok(records.length >= 5, `${records.length} log lines`);
  for (const r of records) {
    if (typeof r.level !== 'number' || typeof r.time !== 'number' || typeof r.msg !== 'string') t.fail(`not a pino record: ${JSON.stringify(r)}`);
  }
  const handshake = records.find((r) => r.msg === 'handshake done');
  t.match(handshake, { level: 30, address: '127.0.0.1', port: node.p2pPort, direction: 'outbound', userAgent: '/bcash:1.1.1/', services: '0x1', startHeight: height });
  t.type(handshake?.peer, 'string', 'the peer id');
  t.match(records.find((r) => r.msg === 'manager started'), { network: 'regtest', manual: 1 });
  t.match(records.find((r) => r.msg === 'headers accepted'), { level: 20, height, address: '127.0.0.1' });
  t.match(records.find((r) => r.msg === 'peer closed'), { level: 30, peer: handshake?.peer, reason: 'local' });
  t.equal(records.at(-1)?.msg, 'manager stopped', 'the last record, written before the process exited');
  t.notMatch(result.stdout, /"level":/, 'stdout holds no log records');
  t.match(result.stdout, /handshake/, "stdout still has the command's own output");
});

t.test('--log-level info leaves the debug records out; the flag may stand before the command', async (t) => {
  const dataDir = tempDir(t);
  const result = await runCli(['--log-level=info', 'connect', '--network', 'regtest', '--peer', `127.0.0.1:${node.p2pPort}`, '--duration', '3', '--datadir', dataDir]);
  if (result.code !== 0) t.comment(result.stderr);
  t.equal(result.code, 0, 'exit 0');
  const records = logLines(t, result.stderr);
  t.ok(records.some((r) => r.msg === 'handshake done'), 'the handshake record');
  t.same(records.filter((r) => (r.level as number) < 30), [], 'no debug records');
});

t.test('without --log-level stderr has no log lines; an unknown level is a usage error', async (t) => {
  const dataDir = tempDir(t);
  const result = await runCli(['connect', '--network', 'regtest', '--peer', `127.0.0.1:${node.p2pPort}`, '--duration', '3', '--datadir', dataDir]);
  if (result.code !== 0) t.comment(result.stderr);
  t.equal(result.code, 0, 'exit 0');
  t.equal(result.stderr, '', 'nothing on stderr');
  t.match(result.stdout, /handshake/, 'the run did connect');

  const bad = await runCli(['connect', '--log-level', 'loud']);
  t.equal(bad.code, 2);
  t.match(bad.stderr, /--log-level: expected one of trace\|debug\|info\|warn\|error\|fatal\|silent, got "loud"/);
});

t.test('a DNS seed on the loopback DNS server: the discovery record names the seed and what it gave', async (t) => {
  const dns = await TestDnsServer.start({ zone: { 'seed.regtest.bsv-wire.test': { a: ['127.0.0.1'] } } });
  t.teardown(() => dns.close());
  const dataDir = tempDir(t);
  const result = await runCli([
    'connect', '--network', 'regtest', '--seed', 'seed.regtest.bsv-wire.test', '--dns-server', `127.0.0.1:${dns.port}`,
    '--port', String(node.p2pPort), '--outbound', '1', '--duration', '4', '--datadir', dataDir, '--log-level', 'info',
  ]);
  if (result.code !== 0) t.comment(result.stderr);
  t.equal(result.code, 0, 'exit 0');
  const records = logLines(t, result.stderr);
  t.match(records.find((r) => r.msg === 'discovery'), { level: 30, method: 'dns', seeds: [{ seed: 'seed.regtest.bsv-wire.test', count: 1, rcode: 'NOERROR' }], found: 1, added: 1, failures: [] });
  t.match(records.find((r) => r.msg === 'handshake done'), { address: '127.0.0.1', port: node.p2pPort, userAgent: '/bcash:1.1.1/' });
});
