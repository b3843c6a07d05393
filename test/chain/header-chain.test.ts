// HeaderChain: linkage and proof of work from the network genesis, on real mainnet headers and on
// regtest-difficulty headers ground here (bits 0x207fffff: about one nonce in two passes).
import t, { type Test } from 'tap';
import { HeaderChain, HeaderChainError, powLimitBits } from '../../lib/chain/header-chain.js';
import { blockHash, decodeBlockHeader, type BlockHeader } from '../../lib/messages/block-header.js';
import { mainnet, regtest } from '../../lib/networks.js';
import { fromDisplayHex, toDisplayHex } from '../../lib/hash.js';

// Mainnet blocks 1 and 2, exactly as served by any node.
const BLOCK1 = decodeBlockHeader(Buffer.from('010000006fe28c0ab6f1b372c1a6a246ae63f74f931e8365e15a089c68d6190000000000982051fd1e4ba744bbbe680e1fee14677ba1a3c3540bf7b1cdb606e857233e0e61bc6649ffff001d01e36299', 'hex'));
const BLOCK2 = decodeBlockHeader(Buffer.from('010000004860eb18bf1b1620e37e9490fc8a427514416fd75159ab86688e9a8300000000d5fdcc541e25de1c7a5addedf24858b8bb665c9f36ef744ee42c316022c90f9bb0bc6649ffff001d08d2bd61', 'hex'));

function expectFailure(t: Test, fn: () => unknown, reason: string, height: number): void {
  try {
    fn();
    t.fail(`expected ${reason}`);
  } catch (err) {
    t.ok(err instanceof HeaderChainError, 'a HeaderChainError');
    t.match(err, { reason, height });
  }
}

t.test('mainnet blocks 1 and 2 link to the genesis and carry valid work', (t) => {
  const chain = new HeaderChain(mainnet);
  t.equal(chain.tip.height, 0);
  t.equal(toDisplayHex(chain.tip.hash), mainnet.genesisHash);
  const seen: number[] = [];
  t.equal(chain.append([BLOCK1, BLOCK2], (_h, _hash, height) => seen.push(height)), 2);
  t.same(seen, [1, 2]);
  t.equal(chain.tip.height, 2);
  t.equal(toDisplayHex(chain.tip.hash), '000000006a625f06636b8bb6ac7b960a8d03705d1ace08b1a19da3fdcc99ddbd');
  t.end();
});

t.test('a header that skips a block, or comes from another chain, breaks linkage', (t) => {
  expectFailure(t, () => new HeaderChain(mainnet).append([BLOCK2]), 'linkage', 1);
  expectFailure(t, () => new HeaderChain(regtest).append([BLOCK1]), 'linkage', 1);
  t.end();
});

t.test('a changed nonce no longer meets the mainnet target', (t) => {
  const chain = new HeaderChain(mainnet);
  expectFailure(t, () => chain.append([BLOCK1, { ...BLOCK2, nonce: BLOCK2.nonce + 1 }]), 'insufficient-work', 2);
  t.equal(chain.tip.height, 1, 'the good header before it stays appended');
  t.end();
});

t.test('targets above the network limit, zero or negative are refused', (t) => {
  // Regtest difficulty on mainnet: the target is far easier than mainnet allows.
  const easy = grind({ ...BLOCK1, bits: powLimitBits(regtest) });
  expectFailure(t, () => new HeaderChain(mainnet).append([easy]), 'bad-target', 1);
  expectFailure(t, () => new HeaderChain(regtest).append([{ ...BLOCK1, prevBlock: fromDisplayHex(regtest.genesisHash), bits: 0x03000000 }]), 'bad-target', 1);
  expectFailure(t, () => new HeaderChain(regtest).append([{ ...BLOCK1, prevBlock: fromDisplayHex(regtest.genesisHash), bits: 0x20800001 }]), 'bad-target', 1);
  t.end();
});

function grind(header: BlockHeader): BlockHeader {
  // Regtest target 0x7fffff * 2^232: the top bit of the hash's last (most significant) byte must be clear.
  for (let nonce = 0; nonce < 1000; nonce++) {
    const h = { ...header, nonce };
    if (blockHash(h)[31]! < 0x7f) return h;
  }
  throw new Error('no nonce found');
}

t.test('regtest: a ground chain of 50 headers validates, and a header above the target does not', (t) => {
  const chain = new HeaderChain(regtest);
  let prev = fromDisplayHex(regtest.genesisHash);
  const headers: BlockHeader[] = [];
  for (let i = 0; i < 50; i++) {
    const h = grind({ version: 0x20000000, prevBlock: prev, merkleRoot: Buffer.alloc(32, i), timestamp: 1_700_000_000 + i, bits: 0x207fffff, nonce: 0 });
    headers.push(h);
    prev = blockHash(h);
  }
  t.equal(chain.append(headers), 50);
  t.same(chain.tip, { hash: prev, height: 50 });
  let bad: BlockHeader | undefined;
  for (let nonce = 0; !bad; nonce++) {
    const h = { version: 0x20000000, prevBlock: prev, merkleRoot: Buffer.alloc(32), timestamp: 1_700_000_100, bits: 0x207fffff, nonce };
    if (blockHash(h)[31]! >= 0x80) bad = h;
  }
  expectFailure(t, () => chain.append([bad!]), 'insufficient-work', 51);
  t.end();
});

t.test('a chain can start from a known tip instead of the genesis', (t) => {
  const chain = new HeaderChain(mainnet, { hash: blockHash(BLOCK1), height: 1 });
  t.equal(chain.append([BLOCK2]), 1);
  t.equal(chain.tip.height, 2);
  t.end();
});
