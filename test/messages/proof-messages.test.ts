import t from 'tap';
import { EncodeError } from '../../lib/errors.js';
import { PayloadReader } from '../../lib/encoding/reader.js';
import { PayloadWriter } from '../../lib/encoding/writer.js';
import { blockHash, decodeBlockHeader, type BlockHeader } from '../../lib/messages/block-header.js';
import { dataRefTxCodec, type DataRefTxMessage } from '../../lib/messages/datareftx.js';
import { dsDetectedCodec, type DsDetectedMessage } from '../../lib/messages/dsdetected.js';
import { hdrsEnCodec, type EnrichedHeader, type HdrsEnMessage } from '../../lib/messages/hdrsen.js';
import { limitClassOf, messageFromJSON, messageToJSON } from '../../lib/messages/index.js';
import { merkleBranch, merkleRoot, rootFromBranch } from '../../lib/messages/merkle.js';
import {
  merkleProofRoot,
  merkleProofTxid,
  readMerkleProof,
  writeMerkleProof,
  type MerkleProof,
} from '../../lib/messages/merkle-proof.js';
import { revokeMidCodec, type RevokeMidMessage } from '../../lib/messages/revokemid.js';
import { rawTransaction, type RawTransaction } from '../../lib/messages/transaction.js';
import { checkCodec } from '../helpers/codec.js';
import { compactSize, EMPTY_TX, GENESIS_COINBASE_HEX, GENESIS_HEADER_HEX, Samples } from './data-fixtures.js';

const MAX_U32 = 0xffffffff;
const s = new Samples(11);
const coinbase = rawTransaction(Buffer.from(GENESIS_COINBASE_HEX, 'hex'));
const genesisHeader = decodeBlockHeader(Buffer.from(GENESIS_HEADER_HEX, 'hex'));

/** A synthetic 5-tx block whose header commits to its transactions. */
const txs: RawTransaction[] = [coinbase, s.tx(), s.tx(), s.tx(), s.tx()];
const txids = txs.map((x) => x.txid);
const header: BlockHeader = { ...s.header(), merkleRoot: merkleRoot(txids) };
const hash = blockHash(header);

function proofOf(index: number, full: boolean): MerkleProof {
  const nodes = merkleBranch(txids, index).map((h) => ({ type: 0, hash: h }));
  return full
    ? { flags: 5, index, txOrId: txs[index]!, target: header.merkleRoot, nodes }
    : { flags: 0, index, txOrId: txids[index]!, target: hash, nodes };
}

function proofBytes(p: MerkleProof): Buffer {
  const w = new PayloadWriter('proof');
  writeMerkleProof(w, p);
  return w.render();
}

t.test('merkle branches lead back to the root for every leaf', (t) => {
  for (let n = 1; n <= 9; n++) {
    const leaves = Array.from({ length: n }, () => s.hash());
    const root = merkleRoot(leaves);
    for (let i = 0; i < n; i++) {
      t.same(rootFromBranch(leaves[i]!, i, merkleBranch(leaves, i)), root, `${n} leaves, leaf ${i}`);
    }
  }
  t.throws(() => merkleBranch(txids, 5), RangeError);
  t.end();
});

t.test('TSC proof codec', (t) => {
  for (const [i, full] of [[0, false], [2, false], [4, true], [3, true]] as const) {
    const proof = proofOf(i, full);
    t.same(merkleProofRoot(proof), header.merkleRoot, `proof of tx ${i} leads to the merkle root`);
    t.same(merkleProofTxid(proof), txids[i]);
    const bytes = proofBytes(proof);
    const r = new PayloadReader(bytes, 'proof');
    t.same(readMerkleProof(r), proof, `proof of tx ${i} round-trips`);
    t.equal(r.remaining, 0);
  }
  // Layout: flags | index | txid | target | count | (type + 32) per node.
  const p = proofOf(2, false);
  const bytes = proofBytes(p);
  t.equal(bytes.length, 1 + 1 + 32 + 32 + 1 + 3 * 33);
  t.same(bytes.subarray(0, 2), Buffer.from([0, 2]));
  t.same(bytes.subarray(2, 34), txids[2]);
  const full = proofBytes(proofOf(4, true));
  t.same(full.subarray(0, 3), Buffer.from([5, 4, txs[4]!.raw.length]), 'flags 5, index, txLength');
  t.same(full.subarray(3, 3 + txs[4]!.raw.length), txs[4]!.raw);

  t.throws(() => proofBytes({ ...p, flags: 1 }), EncodeError, 'flag bit 0 set but only a txid');
  t.throws(() => proofBytes({ ...proofOf(4, true), flags: 4 }), EncodeError, 'flag bit 0 clear but a full tx');
  t.throws(() => merkleProofRoot({ ...p, nodes: [{ type: 1, hash: Buffer.alloc(32) }] }), RangeError);

  // txLength larger than the tx inside it: refused, not silently skipped.
  const padded = Buffer.concat([Buffer.from([1, 0]), compactSize(EMPTY_TX.raw.length + 1), EMPTY_TX.raw, Buffer.from([0]), Buffer.alloc(33)]);
  t.throws(() => readMerkleProof(new PayloadReader(padded, 'datareftx')), { name: 'DecodeError', field: 'proof.tx', reason: 'invalid-value' });
  const nodeBomb = Buffer.concat([Buffer.from([0, 0]), Buffer.alloc(64), compactSize(MAX_U32), Buffer.alloc(40)]);
  t.throws(() => readMerkleProof(new PayloadReader(nodeBomb, 'datareftx')), { name: 'DecodeError', field: 'proof.nodes', reason: 'truncated' });
  const indexTooLarge = Buffer.concat([Buffer.from([0]), Buffer.from('ff0000000001000000', 'hex'), Buffer.alloc(65)]);
  t.throws(() => readMerkleProof(new PayloadReader(indexTooLarge, 'datareftx')), { name: 'DecodeError', field: 'proof.index', reason: 'too-large' });
  t.end();
});

t.test('datareftx', (t) => {
  t.equal(limitClassOf('datareftx'), 'tx');
  const samples: DataRefTxMessage[] = [
    { command: 'datareftx', tx: txs[2]!, proof: proofOf(2, false) },
    { command: 'datareftx', tx: coinbase, proof: proofOf(0, false) },
    { command: 'datareftx', tx: EMPTY_TX, proof: { flags: 0, index: MAX_U32, txOrId: EMPTY_TX.txid, target: s.hash(), nodes: [] } },
  ];
  checkCodec(t, dataRefTxCodec, samples);
  const decoded = dataRefTxCodec.decode(dataRefTxCodec.encode(samples[0]!));
  t.same(merkleProofRoot(decoded.proof), header.merkleRoot, 'the decoded proof verifies');
  const json = messageToJSON(samples[0]!);
  t.match(json, { command: 'datareftx', tx: { txid: String }, proof: { flags: 0, index: 2, txid: String, target: String } });
  t.throws(() => dataRefTxCodec.decode(Buffer.concat([dataRefTxCodec.encode(samples[0]!), Buffer.from([0])])), {
    name: 'DecodeError',
    reason: 'trailing-bytes',
  });
  const inputBomb = Buffer.concat([Buffer.from('01000000', 'hex'), compactSize(MAX_U32), Buffer.alloc(80)]);
  t.throws(() => dataRefTxCodec.decode(inputBomb), { name: 'DecodeError', command: 'datareftx', field: 'tx.inputs', reason: 'too-large' });
  t.end();
});

t.test('hdrsen', (t) => {
  t.equal(limitClassOf('hdrsen'), 'block');
  const bare = (h: BlockHeader, txCount: number, noMoreHeaders = false): EnrichedHeader => ({
    header: h,
    txCount,
    noMoreHeaders,
    coinbase: null,
    minerInfo: null,
  });
  const rich: EnrichedHeader = {
    header,
    txCount: txs.length,
    noMoreHeaders: true,
    coinbase: { tx: coinbase, proof: proofOf(0, false) },
    minerInfo: { tx: txs[4]!, proof: proofOf(4, false) },
  };
  const samples: HdrsEnMessage[] = [
    { command: 'hdrsen', headers: [] },
    { command: 'hdrsen', headers: [bare(genesisHeader, 1)] },
    { command: 'hdrsen', headers: [bare(s.header(), 0), bare(s.header(), MAX_U32), rich] },
    { command: 'hdrsen', headers: [{ ...rich, coinbase: null }, { ...rich, minerInfo: null, noMoreHeaders: false }] },
  ];
  checkCodec(t, hdrsEnCodec, samples);
  // The node's maximum of 2000 headers, round trip only (truncating it at every offset would be slow).
  const many: HdrsEnMessage = { command: 'hdrsen', headers: Array.from({ length: 2000 }, (_, i) => bare(s.header(), i)) };
  const manyBytes = hdrsEnCodec.encode(many);
  t.same(hdrsEnCodec.decode(manyBytes), many, '2000 headers');
  t.same(messageFromJSON(JSON.parse(JSON.stringify(messageToJSON(many)))), many, '2000 headers via JSON');

  const one = hdrsEnCodec.encode(samples[1]!);
  t.same(one.subarray(81), Buffer.from([1, 0, 0, 0]), 'txCount 1, noMoreHeaders 0, two absent optionals');
  const decodedRich = hdrsEnCodec.decode(hdrsEnCodec.encode({ command: 'hdrsen', headers: [rich] })).headers[0]!;
  t.same(merkleProofRoot(decodedRich.coinbase!.proof), header.merkleRoot, 'coinbase proof verifies after decoding');
  t.match(messageToJSON(samples[1]!), {
    command: 'hdrsen',
    headers: [{ header: { hash: '000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f' }, txCount: 1, noMoreHeaders: false, coinbase: null, minerInfo: null }],
  });

  const bomb = Buffer.concat([compactSize(MAX_U32), one.subarray(1)]);
  t.throws(() => hdrsEnCodec.decode(bomb), { name: 'DecodeError', command: 'hdrsen', field: 'headers', reason: 'truncated' });
  const badTx = Buffer.concat([one.subarray(0, 83), Buffer.from([1]), Buffer.from('01000000', 'hex'), compactSize(MAX_U32), Buffer.alloc(100)]);
  t.throws(() => hdrsEnCodec.decode(badTx), { name: 'DecodeError', field: 'headers[0].coinbase.tx.inputs', reason: 'too-large' });
  t.end();
});

t.test('dsdetected', (t) => {
  t.equal(limitClassOf('dsdetected'), 'default');
  const samples: DsDetectedMessage[] = [
    {
      command: 'dsdetected',
      version: 1,
      blocks: [
        { headers: [header, genesisHeader], proof: proofOf(3, true) },
        { headers: [s.header()], proof: { ...proofOf(1, true), target: s.hash() } },
      ],
    },
    { command: 'dsdetected', version: 0xffff, blocks: [] },
    { command: 'dsdetected', version: 1, blocks: [{ headers: [], proof: proofOf(2, false) }] },
  ];
  checkCodec(t, dsDetectedCodec, samples);
  const bytes = dsDetectedCodec.encode(samples[0]!);
  t.same(bytes.subarray(0, 4), Buffer.from([1, 0, 2, 2]), 'version u16 1, 2 blocks, 2 headers');
  const decoded = dsDetectedCodec.decode(bytes);
  t.same(merkleProofRoot(decoded.blocks[0]!.proof), header.merkleRoot);
  t.equal(decoded.blocks[0]!.proof.flags, 5);

  const blockBomb = Buffer.concat([Buffer.from([1, 0]), compactSize(MAX_U32), Buffer.alloc(200)]);
  t.throws(() => dsDetectedCodec.decode(blockBomb), { name: 'DecodeError', command: 'dsdetected', field: 'blocks', reason: 'truncated' });
  const headerBomb = Buffer.concat([Buffer.from([1, 0]), compactSize(1), compactSize(MAX_U32), Buffer.alloc(200)]);
  t.throws(() => dsDetectedCodec.decode(headerBomb), { name: 'DecodeError', field: 'blocks[0].headers', reason: 'truncated' });
  t.end();
});

t.test('revokemid', (t) => {
  t.equal(limitClassOf('revokemid'), 'default');
  const key = () => Buffer.concat([Buffer.from([2 + s.int(2)]), s.bytes(32)]);
  const samples: RevokeMidMessage[] = [
    { command: 'revokemid', version: 0, revocationKey: key(), minerId: key(), revocationMessage: key(), revocationKeySig: s.bytes(71), minerIdSig: s.bytes(72) },
    { command: 'revokemid', version: MAX_U32, revocationKey: key(), minerId: key(), revocationMessage: key(), revocationKeySig: Buffer.alloc(0), minerIdSig: Buffer.alloc(0) },
    { command: 'revokemid', version: 0, revocationKey: key(), minerId: key(), revocationMessage: key(), revocationKeySig: s.bytes(255), minerIdSig: s.bytes(70) },
  ];
  checkCodec(t, revokeMidCodec, samples);
  const bytes = revokeMidCodec.encode(samples[0]!);
  t.equal(bytes.length, 4 + 3 * 33 + 1 + 1 + 71 + 1 + 72);
  t.same(bytes.subarray(103, 106), Buffer.from([145, 71, samples[0]!.revocationKeySig[0]!]), 'sig field: total 145, then len1 71');

  // The sig field's length must be exactly len1 + len2 + 2.
  const body = bytes.subarray(0, 103);
  const sigs = (inner: Buffer) => Buffer.concat([body, compactSize(inner.length), inner]);
  t.throws(() => revokeMidCodec.decode(sigs(Buffer.from([1, 9, 1, 9, 0]))), { name: 'DecodeError', field: 'end', reason: 'trailing-bytes' });
  t.throws(() => revokeMidCodec.decode(sigs(Buffer.from([1, 9, 2, 9]))), { name: 'DecodeError', field: 'sigs.minerIdSig', reason: 'truncated' });
  t.throws(() => revokeMidCodec.decode(sigs(Buffer.from([5, 9]))), { name: 'DecodeError', field: 'sigs.revocationKeySig' });
  t.throws(() => revokeMidCodec.decode(Buffer.concat([body, compactSize(MAX_U32), Buffer.alloc(4)])), { name: 'DecodeError', field: 'sigs', reason: 'truncated' });
  const base = samples[0]!;
  t.throws(() => revokeMidCodec.encode({ ...base, minerIdSig: Buffer.alloc(256) }), EncodeError);
  t.throws(() => revokeMidCodec.encode({ ...base, minerId: Buffer.alloc(32) }), EncodeError);
  t.end();
});
