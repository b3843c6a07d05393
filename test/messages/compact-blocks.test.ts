import t from 'tap';
import { EncodeError } from '../../lib/errors.js';
import { blockHash, decodeBlockHeader } from '../../lib/messages/block-header.js';
import {
  blockTxnCodec,
  cmpctBlockCodec,
  getBlockTxnCodec,
  type BlockTxnMessage,
  type CmpctBlockMessage,
  type GetBlockTxnMessage,
} from '../../lib/messages/compact-blocks.js';
import { limitClassOf, messageToJSON } from '../../lib/messages/index.js';
import { merkleBlockCodec, type MerkleBlockMessage } from '../../lib/messages/merkleblock.js';
import { rawTransaction } from '../../lib/messages/transaction.js';
import { checkCodec } from '../helpers/codec.js';
import { compactSize, EMPTY_TX, GENESIS_COINBASE_HEX, GENESIS_HEADER_HEX, Samples } from './data-fixtures.js';

const genesisHeader = decodeBlockHeader(Buffer.from(GENESIS_HEADER_HEX, 'hex'));
const headerBytes = Buffer.from(GENESIS_HEADER_HEX, 'hex');
const coinbase = rawTransaction(Buffer.from(GENESIS_COINBASE_HEX, 'hex'));
const MAX_U32 = 0xffffffff;
const MAX_SHORT_ID = (1n << 48n) - 1n;

t.test('cmpctblock', (t) => {
  t.equal(limitClassOf('cmpctblock'), 'block');
  const s = new Samples(3);
  const shortId = () => BigInt(s.u32()) * 65536n + BigInt(s.int(65536));
  const samples: CmpctBlockMessage[] = [
    { command: 'cmpctblock', header: genesisHeader, nonce: 0n, shortIds: [], prefilled: [{ index: 0, tx: coinbase }] },
    { command: 'cmpctblock', header: s.header(), nonce: (1n << 64n) - 1n, shortIds: [0n, MAX_SHORT_ID], prefilled: [] },
    {
      command: 'cmpctblock',
      header: s.header(),
      nonce: 12345n,
      shortIds: Array.from({ length: 5 }, shortId),
      prefilled: [
        { index: 0, tx: s.tx() },
        { index: 1, tx: EMPTY_TX },
        { index: 7, tx: s.tx() },
        { index: 300, tx: s.tx() },
      ],
    },
    // 300 short ids: the count takes a 3-byte CompactSize.
    { command: 'cmpctblock', header: s.header(), nonce: 1n, shortIds: Array.from({ length: 300 }, shortId), prefilled: [] },
    // The largest absolute index.
    { command: 'cmpctblock', header: s.header(), nonce: 2n, shortIds: [], prefilled: [{ index: MAX_U32, tx: EMPTY_TX }] },
  ];
  checkCodec(t, cmpctBlockCodec, samples);

  const encoded = cmpctBlockCodec.encode(samples[2]!);
  // Differential on the wire: 0, 0, 5, 292 (292 needs 0xfd + u16).
  const afterIds = 80 + 8 + 1 + 5 * 6;
  t.equal(encoded[afterIds], 4, 'prefilled count');
  t.equal(encoded[afterIds + 1], 0, 'first index is sent as itself');
  t.same(samples[0]!.shortIds, [], 'zero short ids allowed');
  const six = cmpctBlockCodec.encode({ ...samples[1]!, shortIds: [0x060504030201n] }).subarray(89, 95);
  t.same(six, Buffer.from('010203040506', 'hex'), 'short ids are 6 bytes little-endian');

  const bomb = Buffer.concat([headerBytes, Buffer.alloc(8), compactSize(MAX_U32), Buffer.alloc(60)]);
  t.throws(() => cmpctBlockCodec.decode(bomb), { name: 'DecodeError', command: 'cmpctblock', field: 'shortIds', reason: 'truncated' });
  const prefilledBomb = Buffer.concat([headerBytes, Buffer.alloc(8), compactSize(0), compactSize(MAX_U32), Buffer.alloc(60)]);
  t.throws(() => cmpctBlockCodec.decode(prefilledBomb), { name: 'DecodeError', field: 'prefilled', reason: 'truncated' });
  // Index 2^32-1, then another: the second absolute index would overflow.
  const overflow = Buffer.concat([headerBytes, Buffer.alloc(8), compactSize(0), compactSize(2), compactSize(MAX_U32), EMPTY_TX.raw, compactSize(0), EMPTY_TX.raw]);
  t.throws(() => cmpctBlockCodec.decode(overflow), { name: 'DecodeError', field: 'prefilled[1].index', reason: 'invalid-value' });
  const base = samples[1]!;
  t.throws(() => cmpctBlockCodec.encode({ ...base, shortIds: [MAX_SHORT_ID + 1n] }), EncodeError, 'short id above 48 bits');
  t.throws(() => cmpctBlockCodec.encode({ ...base, shortIds: [-1n] }), EncodeError);
  t.throws(
    () => cmpctBlockCodec.encode({ ...base, prefilled: [{ index: 3, tx: EMPTY_TX }, { index: 3, tx: EMPTY_TX }] }),
    EncodeError,
    'indexes must increase',
  );
  t.throws(() => cmpctBlockCodec.fromJSON({ ...messageToJSON(base), shortIds: ['xyz'] }), EncodeError);
  t.end();
});

t.test('getblocktxn: absolute indexes, differential on the wire', (t) => {
  t.equal(limitClassOf('getblocktxn'), 'getblocktxn');
  const s = new Samples(4);
  let next = 0;
  const many = Array.from({ length: 260 }, () => (next += 1 + s.int(1000)));
  const samples: GetBlockTxnMessage[] = [
    { command: 'getblocktxn', blockHash: blockHash(genesisHeader), indexes: [] },
    { command: 'getblocktxn', blockHash: s.hash(), indexes: [0] },
    { command: 'getblocktxn', blockHash: s.hash(), indexes: [0, 1, 2, 10, 300, 70000, 5_000_000] },
    { command: 'getblocktxn', blockHash: s.hash(), indexes: many },
    { command: 'getblocktxn', blockHash: s.hash(), indexes: [MAX_U32] },
    { command: 'getblocktxn', blockHash: s.hash(), indexes: [MAX_U32 - 1, MAX_U32] },
  ];
  checkCodec(t, getBlockTxnCodec, samples);
  const wire = getBlockTxnCodec.encode({ command: 'getblocktxn', blockHash: Buffer.alloc(32), indexes: [1, 2, 5, 300] });
  t.same(wire.subarray(32), Buffer.from([4, 1, 0, 2, 0xfd, 0x26, 0x01]), '1,2,5,300 -> 1,0,2,294');
  t.same(getBlockTxnCodec.decode(wire).indexes, [1, 2, 5, 300]);

  const bomb = Buffer.concat([Buffer.alloc(32), compactSize(MAX_U32), Buffer.alloc(10)]);
  t.throws(() => getBlockTxnCodec.decode(bomb), { name: 'DecodeError', field: 'indexes', reason: 'truncated' });
  const overflow = Buffer.concat([Buffer.alloc(32), compactSize(2), compactSize(MAX_U32), compactSize(0)]);
  t.throws(() => getBlockTxnCodec.decode(overflow), { name: 'DecodeError', field: 'indexes[1]', reason: 'invalid-value' });
  const ffPrefix = Buffer.concat([Buffer.alloc(32), compactSize(1), Buffer.from('ff0000000001000000', 'hex')]);
  t.throws(() => getBlockTxnCodec.decode(ffPrefix), { name: 'DecodeError', field: 'indexes[0]', reason: 'too-large' });
  t.throws(() => getBlockTxnCodec.encode({ command: 'getblocktxn', blockHash: Buffer.alloc(32), indexes: [5, 4] }), EncodeError);
  t.throws(() => getBlockTxnCodec.encode({ command: 'getblocktxn', blockHash: Buffer.alloc(32), indexes: [MAX_U32 + 1] }), EncodeError);
  t.throws(() => getBlockTxnCodec.encode({ command: 'getblocktxn', blockHash: Buffer.alloc(32), indexes: [1.5] }), EncodeError);
  t.end();
});

t.test('blocktxn', (t) => {
  t.equal(limitClassOf('blocktxn'), 'block');
  const s = new Samples(5);
  const samples: BlockTxnMessage[] = [
    { command: 'blocktxn', blockHash: s.hash(), transactions: [] },
    { command: 'blocktxn', blockHash: blockHash(genesisHeader), transactions: [coinbase] },
    { command: 'blocktxn', blockHash: s.hash(), transactions: [s.tx(), EMPTY_TX, s.tx(), s.tx()] },
  ];
  checkCodec(t, blockTxnCodec, samples);
  const bomb = Buffer.concat([Buffer.alloc(32), compactSize(MAX_U32), coinbase.raw]);
  t.throws(() => blockTxnCodec.decode(bomb), { name: 'DecodeError', command: 'blocktxn', field: 'transactions', reason: 'truncated' });
  const inputBomb = Buffer.concat([Buffer.alloc(32), compactSize(1), Buffer.from('01000000', 'hex'), compactSize(MAX_U32), Buffer.alloc(20)]);
  t.throws(() => blockTxnCodec.decode(inputBomb), { name: 'DecodeError', field: 'transactions[0].inputs', reason: 'too-large' });
  t.end();
});

t.test('merkleblock', (t) => {
  t.equal(limitClassOf('merkleblock'), 'default');
  const s = new Samples(6);
  const samples: MerkleBlockMessage[] = [
    { command: 'merkleblock', header: genesisHeader, totalTransactions: 1, hashes: [coinbase.txid], flags: Buffer.from([1]) },
    { command: 'merkleblock', header: s.header(), totalTransactions: 0, hashes: [], flags: Buffer.alloc(0) },
    { command: 'merkleblock', header: s.header(), totalTransactions: MAX_U32, hashes: Array.from({ length: 7 }, () => s.hash()), flags: s.bytes(3) },
  ];
  checkCodec(t, merkleBlockCodec, samples);
  const bomb = Buffer.concat([headerBytes, Buffer.alloc(4), compactSize(MAX_U32), Buffer.alloc(40)]);
  t.throws(() => merkleBlockCodec.decode(bomb), { name: 'DecodeError', command: 'merkleblock', field: 'hashes', reason: 'truncated' });
  const flagsBomb = Buffer.concat([headerBytes, Buffer.alloc(4), compactSize(0), compactSize(MAX_U32), Buffer.alloc(3)]);
  t.throws(() => merkleBlockCodec.decode(flagsBomb), { name: 'DecodeError', field: 'flags', reason: 'truncated' });
  t.throws(() => merkleBlockCodec.fromJSON({ ...messageToJSON(samples[0]!), hashes: ['00'] }), { name: 'EncodeError', field: 'hashes[0]' });
  t.end();
});
