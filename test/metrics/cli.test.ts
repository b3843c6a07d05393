// The --metrics option of the built CLI without a node: help text, a bad address (usage error, exit 2), and an
// address already in use (one clear line, exit 1, nothing left running).
import t from 'tap';
import net from 'node:net';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, ROOT } from '../cli/fixtures/run-cli.js';
import { closedPort } from '../helpers/ports.js';

function cli(args: string[]): ReturnType<typeof spawnSync> & { stdout: string; stderr: string } {
  const home = mkdtempSync(join(tmpdir(), 'bsv-wire-home-'));
  try {
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: home };
    delete env.NODE_OPTIONS;
    return spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, env, encoding: 'utf8', timeout: 60_000 }) as ReturnType<typeof spawnSync> & { stdout: string; stderr: string };
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

t.test('connect, sync and follow --help name --metrics; the command list does too', async (t) => {
  for (const command of ['connect', 'sync', 'follow']) {
    const r = cli([command, '--help']);
    t.equal(r.status, 0);
    t.match(r.stdout, /--metrics HOST:PORT\s+serve Prometheus\/OpenMetrics text/, `${command} --help`);
  }
  t.match(cli(['--help']).stdout, /--metrics HOST:PORT/);
});

t.test('a bad --metrics address is a usage error', async (t) => {
  const r = cli(['connect', '--network', 'regtest', '--peer', '127.0.0.1:1', '--metrics', 'no-port-here', '--duration', '1']);
  t.equal(r.status, 2);
  t.match(r.stderr, /--metrics: expected host:port/);
});

t.test('a --metrics port in use: one line, exit 1', async (t) => {
  const busy = net.createServer();
  t.teardown(() => new Promise<void>((r) => busy.close(() => r())));
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
  const port = (busy.address() as net.AddressInfo).port;
  const dataDir = mkdtempSync(join(tmpdir(), 'bsv-wire-metrics-cli-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const r = cli(['connect', '--network', 'regtest', '--json', '--datadir', dataDir, '--peer', `127.0.0.1:${await closedPort()}`, '--metrics', `127.0.0.1:${port}`, '--duration', '5']);
  t.equal(r.status, 1);
  t.match(r.stderr, new RegExp(`--metrics: cannot listen on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE`));
});
