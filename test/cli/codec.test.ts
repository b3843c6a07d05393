import t from 'tap';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { encodeMessageFrame } from '../../lib/framing/index.js';
import { mainnet, regtest } from '../../lib/networks.js';
import type { Message } from '../../lib/messages/index.js';
import { encodeFrame } from '../../lib/framing/index.js';
import { GENESIS_BLOCK_HEX, GENESIS_BLOCK_HASH, GENESIS_COINBASE_TXID } from '../messages/data-fixtures.js';

const bin = fileURLToPath(new URL('../../bin/bsv-wire.js', import.meta.url));

function cli(args: string[], input?: string): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { input, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

t.test('decode the mainnet verack frame', (t) => {
  const r = cli(['decode', 'e3e1f3e876657261636b000000000000000000005df6e0e2']);
  t.equal(r.code, 0);
  t.same(JSON.parse(r.stdout), { command: 'verack' });
  t.end();
});

t.test('encode(decode(x)) == x for several frames read from stdin', (t) => {
  const frames = Buffer.concat([
    encodeMessageFrame(regtest.magic, { command: 'ping', nonce: 18446744073709551615n }),
    encodeMessageFrame(regtest.magic, { command: 'verack' }),
    encodeMessageFrame(regtest.magic, { command: 'unknown', name: 'wtxidrelay', payload: Buffer.from('0102', 'hex') }),
  ]).toString('hex');
  const decoded = cli(['decode', '--network', 'regtest'], frames);
  t.equal(decoded.code, 0, decoded.stderr);
  const lines = decoded.stdout.trim().split('\n');
  t.equal(lines.length, 3);
  t.same(JSON.parse(lines[0]!), { command: 'ping', nonce: '18446744073709551615' });
  const encoded = cli(['encode', '--network', 'regtest'], decoded.stdout);
  t.equal(encoded.code, 0, encoded.stderr);
  t.equal(encoded.stdout.trim(), frames);
  t.end();
});

t.test('a pre-BIP31 ping (empty payload) decodes without a nonce and encodes back to the same frame', (t) => {
  const frame = encodeFrame(regtest.magic, 'ping', Buffer.alloc(0)).toString('hex');
  const decoded = cli(['decode', '--network', 'regtest', frame]);
  t.equal(decoded.code, 0, decoded.stderr);
  t.equal(decoded.stdout, '{"command":"ping"}\n', 'no nonce key in the JSON');
  const encoded = cli(['encode', '--network', 'regtest', '{"command":"ping"}']);
  t.equal(encoded.code, 0, encoded.stderr);
  t.equal(encoded.stdout.trim(), frame, 'the same 24-byte frame, empty payload');
  t.end();
});

t.test('the mainnet genesis block frame decodes to its hash and coinbase txid, and re-encodes exactly', (t) => {
  const frame = encodeFrame(mainnet.magic, 'block', Buffer.from(GENESIS_BLOCK_HEX, 'hex')).toString('hex');
  const r = cli(['decode'], frame);
  t.equal(r.code, 0, r.stderr);
  const json = JSON.parse(r.stdout);
  t.equal(json.command, 'block');
  t.equal(json.header.hash, GENESIS_BLOCK_HASH);
  t.equal(json.transactions[0].txid, GENESIS_COINBASE_TXID);
  t.equal(cli(['encode'], r.stdout).stdout.trim(), frame);
  t.end();
});

t.test('bad input gives a one-line error and a non-zero exit', (t) => {
  const wrongMagic = cli(['decode', '--network', 'mainnet'], encodeMessageFrame(regtest.magic, { command: 'verack' } as Message).toString('hex'));
  t.equal(wrongMagic.code, 1);
  t.match(wrongMagic.stderr, /bad-magic/);
  t.equal(wrongMagic.stderr.trim().split('\n').length, 1, 'no stack trace');
  const notHex = cli(['decode', 'zz']);
  t.equal(notHex.code, 1);
  const truncated = cli(['decode'], encodeMessageFrame(mainnet.magic, { command: 'ping', nonce: 1n }).subarray(0, 30).toString('hex'));
  t.equal(truncated.code, 1);
  t.match(truncated.stderr, /ends inside a frame/);
  const badJson = cli(['encode'], '{"command":"ping","nonce":"x"}');
  t.equal(badJson.code, 1);
  t.match(badJson.stderr, /nonce/);
  t.end();
});

t.test("the README's decode and encode examples print exactly what the README shows", (t) => {
  const decoded = cli(['decode', 'e3e1f3e876657261636b000000000000000000005df6e0e2']);
  t.equal(decoded.stdout, '{"command":"verack"}\n');
  const encoded = cli(['encode'], '{"command":"ping","nonce":"5"}\n');
  t.equal(encoded.code, 0, encoded.stderr);
  t.equal(encoded.stdout, 'e3e1f3e870696e6700000000000000000800000003b44ddf0500000000000000\n');
  t.end();
});

t.test('README: encode takes a JSON object, an array or lines', (t) => {
  const want = Buffer.concat([
    encodeMessageFrame(mainnet.magic, { command: 'verack' }),
    encodeMessageFrame(mainnet.magic, { command: 'ping', nonce: 7n }),
  ]).toString('hex');
  const asArray = cli(['encode', '[{"command":"verack"},{"command":"ping","nonce":"7"}]']);
  t.equal(asArray.code, 0, asArray.stderr);
  t.equal(asArray.stdout.replace(/\s/g, ''), want, 'an array argument');
  const asLines = cli(['encode'], '{"command":"verack"}\n{"command":"ping","nonce":"7"}\n');
  t.equal(asLines.code, 0, asLines.stderr);
  t.equal(asLines.stdout.replace(/\s/g, ''), want, 'JSON lines on stdin');
  t.end();
});
