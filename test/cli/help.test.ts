// README CLI: `bsv-wire COMMAND --help` gives the options of each command (exit 0), and the exit codes:
// 2 for a usage error (no command, an unknown one), 0 for help.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../bin/bsv-wire.js', import.meta.url));
const cli = (args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 30_000, input: '' });

t.test('every command of the README answers --help with its usage, exit 0', (t) => {
  for (const command of ['connect', 'seeds', 'peers', 'headers', 'chain', 'block', 'broadcast', 'replay', 'decode', 'encode']) {
    const r = cli([command, '--help']);
    t.equal(r.status, 0, `${command} --help exits 0`);
    t.match(r.stdout, /usage: bsv-wire/, `${command} --help prints a usage`);
    t.match(r.stdout, new RegExp(`\\b${command}\\b`), `${command} --help names the command`);
    t.equal(r.stderr, '', `${command} --help writes nothing to stderr`);
  }
  t.end();
});

t.test('exit codes: no command and an unknown command are usage errors (2); --help is 0', (t) => {
  const none = cli([]);
  t.equal(none.status, 2);
  t.match(none.stdout, /usage: bsv-wire/);
  const unknown = cli(['frobnicate']);
  t.equal(unknown.status, 2);
  t.match(unknown.stderr, /unknown command "frobnicate"/);
  t.equal(cli(['--help']).status, 0);
  t.end();
});
