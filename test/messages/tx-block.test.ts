import t from 'tap';
import { DecodeError, EncodeError } from '../../lib/errors.js';
import { fromDisplayHex, toDisplayHex } from '../../lib/hash.js';
import { blockHash, decodeBlockHeader } from '../../lib/messages/block-header.js';
import { blockCodec, type BlockMessage } from '../../lib/messages/block.js';
import { decodeMessage, limitClassOf, messageToJSON } from '../../lib/messages/index.js';
import { merkleRoot } from '../../lib/messages/merkle.js';
import {
  parseTransaction,
  rawTransaction,
  serializeTransaction,
  toBsvBlockHeader,
  toBsvTx,
} from '../../lib/messages/transaction.js';
import { txCodec, type TxMessage } from '../../lib/messages/tx.js';
import { checkCodec } from '../helpers/codec.js';
import {
  compactSize,
  EMPTY_TX,
  GENESIS_BLOCK_HASH,
  GENESIS_BLOCK_HEX,
  GENESIS_COINBASE_HEX,
  GENESIS_COINBASE_TXID,
  GENESIS_HEADER_HEX,
  Samples,
} from './data-fixtures.js';

const genesisCoinbase = Buffer.from(GENESIS_COINBASE_HEX, 'hex');

t.test('the genesis coinbase: txid, parsed fields, bsv interop', (t) => {
  t.equal(genesisCoinbase.length, 204);
  const tx = rawTransaction(genesisCoinbase);
  t.equal(toDisplayHex(tx.txid), GENESIS_COINBASE_TXID);
  t.equal(toBsvTx(tx).id(), GENESIS_COINBASE_TXID, 'bsv.Tx agrees on the txid');
  t.same(toBsvTx(tx).toBuffer(), genesisCoinbase, 'bsv.Tx re-serialises the same bytes');
  const parsed = parseTransaction(tx);
  t.equal(parsed.version, 1);
  t.equal(parsed.inputs.length, 1);
  t.same(parsed.inputs[0]!.prevTxid, Buffer.alloc(32));
  t.equal(parsed.inputs[0]!.vout, 0xffffffff);
  t.equal(parsed.inputs[0]!.script.length, 0x4d);
  t.match(parsed.inputs[0]!.script.toString('latin1'), /The Times 03\/Jan\/2009 Chancellor/);
  t.equal(parsed.inputs[0]!.sequence, 0xffffffff);
  t.equal(parsed.outputs.length, 1);
  t.equal(parsed.outputs[0]!.value, 5_000_000_000n);
  t.equal(parsed.outputs[0]!.script.length, 0x43);
  t.equal(parsed.lockTime, 0);
  t.same(serializeTransaction(parsed), genesisCoinbase, 'serializeTransaction(parseTransaction(x)) == x');
  t.end();
});

t.test('parseTransaction refuses malformed bytes with DecodeError', (t) => {
  t.throws(() => parseTransaction(Buffer.concat([genesisCoinbase, Buffer.from([0])])), { name: 'DecodeError', reason: 'trailing-bytes' });
  t.throws(() => parseTransaction(genesisCoinbase.subarray(0, 100)), DecodeError);
  // 2^32-1 inputs cannot fit in 10 bytes: refused before allocating.
  const bomb = Buffer.concat([Buffer.from('01000000', 'hex'), compactSize(0xffffffff), Buffer.alloc(5)]);
  t.throws(() => parseTransaction(bomb), { name: 'DecodeError', field: 'inputs', reason: 'truncated' });
  t.end();
});

t.test('tx codec', (t) => {
  t.equal(limitClassOf('tx'), 'tx');
  const s = new Samples(1);
  const samples: TxMessage[] = [
    { command: 'tx', ...rawTransaction(genesisCoinbase) },
    { command: 'tx', ...EMPTY_TX },
    ...Array.from({ length: 12 }, (): TxMessage => ({ command: 'tx', ...s.tx() })),
    // A 300-byte script: its length is a 3-byte CompactSize.
    { command: 'tx', ...rawTransaction(serializeTransaction({ version: 2, inputs: [], outputs: [{ value: 1n, script: Buffer.alloc(300, 0x6a) }], lockTime: 0 })) },
  ];
  checkCodec(t, txCodec, samples);
  const json = messageToJSON({ command: 'tx', ...rawTransaction(genesisCoinbase) });
  t.same(json, { command: 'tx', txid: GENESIS_COINBASE_TXID, raw: GENESIS_COINBASE_HEX });
  t.throws(() => txCodec.decode(Buffer.concat([genesisCoinbase, Buffer.from([0])])), { name: 'DecodeError', field: 'end' });
  t.throws(() => txCodec.encode({ command: 'tx', raw: genesisCoinbase.subarray(0, 50), txid: Buffer.alloc(32) }), EncodeError);
  t.throws(() => txCodec.encode({ command: 'tx', raw: Buffer.concat([genesisCoinbase, Buffer.from([0])]), txid: Buffer.alloc(32) }), EncodeError);
  t.end();
});

t.test('tx codec refuses counts that cannot fit, before walking them', (t) => {
  // Input count 2^32-1 in a tiny payload.
  const inputs = Buffer.concat([Buffer.from('01000000', 'hex'), compactSize(0xffffffff), Buffer.alloc(8)]);
  t.throws(() => txCodec.decode(inputs), { name: 'DecodeError', command: 'tx', field: 'tx.inputs', reason: 'too-large' });
  // 3 inputs claimed, room for fewer than 3 × 41 bytes.
  const three = Buffer.concat([Buffer.from('01000000', 'hex'), compactSize(3), Buffer.alloc(100)]);
  t.throws(() => txCodec.decode(three), { name: 'DecodeError', field: 'tx.inputs', reason: 'too-large' });
  const outputs = Buffer.concat([Buffer.from('01000000', 'hex'), compactSize(0), compactSize(0xfffffffe), Buffer.alloc(20)]);
  t.throws(() => txCodec.decode(outputs), { name: 'DecodeError', field: 'tx.outputs', reason: 'too-large' });
  // An input count of 1 written with a 3-byte CompactSize.
  const nonCanonical = Buffer.concat([Buffer.from('01000000fd0100', 'hex'), Buffer.alloc(60)]);
  t.throws(() => txCodec.decode(nonCanonical), { name: 'DecodeError', field: 'tx.varint', reason: 'non-canonical' });
  // A script length running past the payload end.
  const script = Buffer.concat([Buffer.from('01000000', 'hex'), compactSize(0), compactSize(1), Buffer.alloc(8), compactSize(0xfffff), Buffer.alloc(10)]);
  t.throws(() => txCodec.decode(script), { name: 'DecodeError', reason: 'truncated' });
  t.end();
});

t.test('mainnet genesis block: decode, hashes, re-encode byte-exact', (t) => {
  const bytes = Buffer.from(GENESIS_BLOCK_HEX, 'hex');
  t.equal(bytes.length, 285);
  const block = blockCodec.decode(bytes);
  t.equal(toDisplayHex(blockHash(block.header)), GENESIS_BLOCK_HASH);
  t.equal(block.transactions.length, 1);
  t.equal(toDisplayHex(block.transactions[0]!.txid), GENESIS_COINBASE_TXID);
  t.same(block.header.merkleRoot, merkleRoot([block.transactions[0]!.txid]), 'one tx: the root is its txid');
  t.equal(toDisplayHex(block.header.merkleRoot), GENESIS_COINBASE_TXID);
  t.same(blockCodec.encode(block), bytes, 're-encodes byte-exact');
  t.same(decodeMessage('block', bytes), block, 'the registry knows block');
  t.equal(limitClassOf('block'), 'block');
  const bsvHeader = toBsvBlockHeader(block.header);
  t.same(bsvHeader.toBuffer(), Buffer.from(GENESIS_HEADER_HEX, 'hex'), 'bsv.BlockHeader has the same 80 bytes');
  t.equal(bsvHeader.nonce, 2083236893);
  const json = messageToJSON(block);
  t.equal((json.header as { hash: string }).hash, GENESIS_BLOCK_HASH);
  t.end();
});

t.test('merkleRoot: duplicate-last rule on a multi-tx synthetic block', (t) => {
  const s = new Samples(7);
  const txids = Array.from({ length: 5 }, () => s.hash());
  const h = (a: Buffer, b: Buffer) => rawTransaction(Buffer.concat([a, b])).txid; // sha256d of the pair
  const l1 = [h(txids[0]!, txids[1]!), h(txids[2]!, txids[3]!), h(txids[4]!, txids[4]!)];
  const l2 = [h(l1[0]!, l1[1]!), h(l1[2]!, l1[2]!)];
  t.same(merkleRoot(txids), h(l2[0]!, l2[1]!), '5 leaves');
  t.same(merkleRoot(txids.slice(0, 2)), h(txids[0]!, txids[1]!), '2 leaves');
  t.same(merkleRoot([]), Buffer.alloc(32), 'no leaves: zero hash');
  t.not(merkleRoot([txids[0]!]), txids[0], 'the result is a copy, not the input buffer');
  // A 3-tx block whose header commits to its txs.
  const txs = [s.tx(), s.tx(), s.tx()];
  const header = { ...s.header(), merkleRoot: merkleRoot(txs.map((x) => x.txid)) };
  const block = blockCodec.decode(blockCodec.encode({ command: 'block', header, transactions: txs }));
  t.same(block.header.merkleRoot, merkleRoot(block.transactions.map((x) => x.txid)));
  t.end();
});

t.test('block codec: samples, zero txs, bombs', (t) => {
  const s = new Samples(2);
  const samples: BlockMessage[] = [
    { command: 'block', header: decodeBlockHeader(Buffer.from(GENESIS_HEADER_HEX, 'hex')), transactions: [rawTransaction(genesisCoinbase)] },
    { command: 'block', header: s.header(), transactions: [] },
    { command: 'block', header: s.header(), transactions: [EMPTY_TX, EMPTY_TX] },
    ...Array.from({ length: 4 }, (): BlockMessage => ({ command: 'block', header: s.header(), transactions: [s.tx(), s.tx(), s.tx()] })),
  ];
  checkCodec(t, blockCodec, samples);
  const header = Buffer.from(GENESIS_HEADER_HEX, 'hex');
  const bomb = Buffer.concat([header, compactSize(0xffffffff), genesisCoinbase]);
  t.throws(() => blockCodec.decode(bomb), { name: 'DecodeError', command: 'block', field: 'transactions', reason: 'truncated' });
  // The third tx's output script runs past the payload end.
  const cut = Buffer.concat([Buffer.from('01000000', 'hex'), compactSize(0), compactSize(1), Buffer.alloc(8), compactSize(32), Buffer.alloc(3)]);
  const short = Buffer.concat([header, compactSize(3), EMPTY_TX.raw, EMPTY_TX.raw, cut]);
  t.throws(() => blockCodec.decode(short), { name: 'DecodeError', field: 'transactions[2].outputs[0].script', reason: 'truncated' });
  // Count says 3, only 2 txs and a few bytes follow.
  const missing = Buffer.concat([header, compactSize(3), EMPTY_TX.raw, EMPTY_TX.raw, Buffer.alloc(9)]);
  t.throws(() => blockCodec.decode(missing), { name: 'DecodeError', field: 'transactions', reason: 'truncated' });
  const txBomb = Buffer.concat([header, compactSize(1), Buffer.from('01000000', 'hex'), compactSize(0xffffffff), Buffer.alloc(10)]);
  t.throws(() => blockCodec.decode(txBomb), { name: 'DecodeError', field: 'transactions[0].inputs', reason: 'too-large' });
  t.throws(
    () => blockCodec.fromJSON({ command: 'block', header: messageToJSON(samples[0]!).header!, transactions: [{ raw: 'deadbeef' }] }),
    EncodeError,
  );
  t.same(fromDisplayHex(GENESIS_BLOCK_HASH), blockHash(samples[0]!.header));
  t.end();
});
