// The README's "JSON form (a stable interface)" and "Commands covered" sections, one promise per test.
import t from 'tap';
import { messageCodecs, messageToJSON, messageFromJSON, decodeMessage, encodeMessage, type Message, type JsonObject } from '../../lib/messages/index.js';
import { GENESIS_BLOCK_HEX, GENESIS_BLOCK_HASH, GENESIS_COINBASE_TXID, GENESIS_HEADER_HEX } from './data-fixtures.js';

const README_COMMANDS = `version, verack, protoconf, authch, authresp, createstrm, streamack, ping, pong, addr, getaddr, inv,
getdata, notfound, getblocks, getheaders, headers, gethdrsen, hdrsen, sendheaders, sendhdrsen, block,
tx, mempool, reject, feefilter, sendcmpct, cmpctblock, getblocktxn,
blocktxn, filterload, filteradd, filterclear, merkleblock, dsdetected, revokemid, datareftx, alert`
  .split(',')
  .map((s) => s.trim());

/** JSON text -> message -> wire payload -> message -> JSON, as `encode` then `decode` do. */
function throughTheWire(json: JsonObject): { message: Message; back: JsonObject } {
  const message = messageFromJSON(json);
  const { command, payload } = encodeMessage(message);
  const decoded = decodeMessage(command, payload);
  return { message, back: JSON.parse(JSON.stringify(messageToJSON(decoded))) as JsonObject };
}

t.test('README: "Commands covered (38, plus unknown)": the registry holds exactly the listed commands', (t) => {
  t.equal(README_COMMANDS.length, 38);
  t.same([...messageCodecs.keys()].sort(), [...README_COMMANDS].sort());
  t.end();
});

t.test('README: any other command decodes to { command: "unknown", name, payload } and is never an error', (t) => {
  const payload = Buffer.from('00ff10', 'hex');
  const m = decodeMessage('wtxidrelay', payload);
  t.same(m, { command: 'unknown', name: 'wtxidrelay', payload });
  t.same(messageToJSON(m), { command: 'unknown', name: 'wtxidrelay', payload: '00ff10' }, 'the README JSON form of an unknown command');
  t.same(decodeMessage('x', Buffer.alloc(0)), { command: 'unknown', name: 'x', payload: Buffer.alloc(0) });
  t.end();
});

t.test('README: the version example decodes from its JSON and prints back the same JSON', (t) => {
  const readme: JsonObject = {
    command: 'version', version: 70016, services: '33', timestamp: '1700000000',
    addrRecv: { services: '0', ip: '::', port: 0 }, addrFrom: { services: '33', ip: '::', port: 0 },
    nonce: '1234', userAgent: '/Bitcoin SV:1.2.2/', startHeight: 800000, relay: true, associationId: '',
  };
  const { message, back } = throughTheWire(readme);
  t.same(back, readme);
  const v = message as Extract<Message, { command: 'version' }>;
  t.equal(typeof v.services, 'bigint', 'services is a 64-bit value');
  t.equal(v.services, 33n);
  t.equal(typeof back.version, 'number', 'a small integer is a JSON number');
  t.equal(typeof back.relay, 'boolean', 'a boolean is a JSON boolean');
  t.end();
});

t.test('README: 64-bit integers are decimal strings, beyond 2^53 too', (t) => {
  const json = messageToJSON({ command: 'ping', nonce: 18446744073709551615n });
  t.same(json, { command: 'ping', nonce: '18446744073709551615' });
  t.equal((messageFromJSON(json) as Extract<Message, { command: 'ping' }>).nonce, 18446744073709551615n);
  const fee = messageToJSON({ command: 'feefilter', feeRate: 9007199254740993n });
  t.equal(fee.feeRate, '9007199254740993', 'a fee rate is a decimal string');
  t.end();
});

t.test('README: hashes are display-order hex; raw bytes are plain hex', (t) => {
  const block = decodeMessage('block', Buffer.from(GENESIS_BLOCK_HEX, 'hex'));
  const json = messageToJSON(block) as { header: JsonObject; transactions: JsonObject[] };
  t.equal(json.header.hash, GENESIS_BLOCK_HASH, 'the block hash as explorers show it (leading zeros first)');
  t.equal(json.transactions[0]!.txid, GENESIS_COINBASE_TXID);
  // The header's merkle root is the coinbase txid for a one-transaction block: display order as well.
  t.equal(json.header.merkleRoot, GENESIS_COINBASE_TXID, 'merkle root in display order');
  // Raw bytes are not reversed: the transaction's raw hex is a substring of the wire bytes as they are.
  t.ok(GENESIS_BLOCK_HEX.endsWith(String(json.transactions[0]!.raw)), 'raw transaction bytes in wire order');
  const getheaders = messageToJSON({ command: 'getheaders', version: 70016, locator: [Buffer.from(GENESIS_BLOCK_HASH, 'hex').reverse()], hashStop: Buffer.alloc(32) });
  t.same(getheaders.locator, [GENESIS_BLOCK_HASH], 'locator hashes in display order');
  t.end();
});

t.test('README: informational fields (header hash, txid, inventory typeName) are ignored by encode', (t) => {
  const block = decodeMessage('block', Buffer.from(GENESIS_BLOCK_HEX, 'hex'));
  const json = JSON.parse(JSON.stringify(messageToJSON(block))) as { header: JsonObject; transactions: JsonObject[] };
  json.header.hash = 'ff'.repeat(32);
  json.transactions[0]!.txid = 'ee'.repeat(32);
  const encoded = encodeMessage(messageFromJSON(json as unknown as JsonObject));
  t.equal(encoded.payload.toString('hex'), GENESIS_BLOCK_HEX, 'the same bytes whatever hash and txid say');
  t.ok(GENESIS_BLOCK_HEX.startsWith(GENESIS_HEADER_HEX));
  const inv = { command: 'inv', inventory: [{ type: 2, typeName: 'MSG_TX', hash: GENESIS_BLOCK_HASH }] };
  const m = messageFromJSON(inv) as Extract<Message, { command: 'inv' }>;
  t.equal(m.inventory[0]!.type, 2, 'the number wins over a contradicting typeName');
  t.equal(messageToJSON(m).inventory !== undefined && (messageToJSON(m).inventory as JsonObject[])[0]!.typeName, 'MSG_BLOCK');
  t.end();
});

t.test('README: absent optional fields are left out; a pre-BIP31 ping is {"command":"ping"} and encodes to the empty payload', (t) => {
  const m = decodeMessage('ping', Buffer.alloc(0));
  t.equal(JSON.stringify(messageToJSON(m)), '{"command":"ping"}');
  t.equal(encodeMessage(messageFromJSON({ command: 'ping' })).payload.length, 0);
  t.end();
});
