import t from 'tap';
import { consensusParams } from '../../lib/chain/consensus.js';
import { calculateNextWorkRequired, checkGenesis, checkHeader, checkProofOfWork, compactOf, HeaderRuleError, medianTimePast, nextWorkRequired } from '../../lib/chain/rules.js';
import { bitsFromTarget, targetFromBits } from '../../lib/chain/work.js';
import { blockHash, type BlockHeader } from '../../lib/messages/block-header.js';
import { defineNetwork, mainnet, regtest, stn, testnet } from '../../lib/networks.js';
import { toDisplayHex } from '../../lib/hash.js';
import { ArrayChain } from './rules-helpers.js';

const MAIN = consensusParams(mainnet);
const REGTEST = consensusParams(regtest);
const GENESIS_MERKLE = Buffer.from('4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b', 'hex').reverse();

t.test('parameters per network, from the node chainparams', async (t) => {
  t.equal(MAIN.powLimitBits, 0x1d00ffff);
  t.equal(REGTEST.powLimitBits, 0x207fffff);
  t.equal(MAIN.retargetInterval, 2016);
  t.equal(MAIN.uahfHeight, 478558);
  t.equal(MAIN.daaHeight, 504031);
  t.equal(consensusParams(testnet).daaHeight, 1188697);
  t.equal(consensusParams(stn).daaHeight, 2200);
  t.equal(consensusParams(testnet).allowMinDifficultyBlocks, true);
  t.equal(REGTEST.noRetargeting, true);
  t.equal(MAIN.checkpoints.get(504031), '0000000000000000011ebf65b60d0a3de80b8175be709d653b4c1a1beeb6ab9c');
  const custom = consensusParams(defineNetwork({ name: 'private', magic: '01020304', defaultPort: 1, genesisHash: 'ab'.repeat(32) }));
  t.equal(custom.rules, 'regtest', 'a custom network follows regtest rules');
  t.equal(custom.genesisHash, 'ab'.repeat(32), 'rooted at its own genesis');
  t.equal(custom.checkpoints.get(0), 'ab'.repeat(32));
  t.equal(consensusParams(mainnet, { powLimit: 1n << 200n }).powLimitBits, bitsFromTarget(1n << 200n), 'an override of powLimit recomputes its bits');
});

// The node's src/test/pow_tests.cpp vectors for CalculateNextWorkRequired (real mainnet times and bits).
t.test('legacy retarget: the node pow_tests vectors', async (t) => {
  const entry = (height: number, time: number, bits: number) => ({ hash: Buffer.alloc(32), prevHash: Buffer.alloc(32), height, version: 1, time, bits, chainWork: 0n });
  t.equal(calculateNextWorkRequired(MAIN, entry(32255, 1262152739, 0x1d00ffff), 1261130161), 0x1d00d86a, 'no constraint (block 32256)');
  t.equal(calculateNextWorkRequired(MAIN, entry(2015, 1233061996, 0x1d00ffff), 1231006505), 0x1d00ffff, 'clamped to powLimit');
  t.equal(calculateNextWorkRequired(MAIN, entry(68543, 1279297671, 0x1c05a3f4), 1279008237), 0x1c0168fd, 'actual timespan clamped to a quarter');
  t.equal(calculateNextWorkRequired(MAIN, entry(46367, 1269211443, 0x1c387f6f), 1263163443), 0x1d00e1fd, 'actual timespan clamped to 4x');
});

t.test('EDA: the node pow_tests retargeting scenario', async (t) => {
  const chain = new ArrayChain(0);
  const initialBits = bitsFromTarget(MAIN.powLimit >> 1n);
  chain.pushSynthetic(1269211443, initialBits);
  for (let i = 1; i < 100; i++) chain.pushSynthetic(chain.tip.time + 600, initialBits);
  // Two-hour blocks: the median-time-past span of 6 blocks stays under 12 h for 10 blocks.
  for (let i = 100; i < 110; i++) {
    chain.pushSynthetic(chain.tip.time + 2 * 3600, initialBits);
    t.equal(nextWorkRequired(MAIN, chain.view(), 0), initialBits, `height ${i}: unchanged`);
  }
  let target = targetFromBits(initialBits)!;
  let bits = initialBits;
  for (let step = 0; step < 3; step++) {
    chain.pushSynthetic(chain.tip.time + 2 * 3600, bits);
    target = targetFromBits(bitsFromTarget(target))!;
    target += target >> 2n;
    bits = bitsFromTarget(target);
    t.equal(nextWorkRequired(MAIN, chain.view(), 0), bits, `EDA step ${step + 1}: target +25%`);
  }
  chain.pushSynthetic(chain.tip.time + 2 * 3600, bits);
  target = targetFromBits(bitsFromTarget(target))!;
  target += target >> 2n;
  t.not(bitsFromTarget(target), MAIN.powLimitBits);
  t.equal(nextWorkRequired(MAIN, chain.view(), 0), MAIN.powLimitBits, 'clamped to powLimit');
  chain.pushSynthetic(chain.tip.time + 2 * 3600, bitsFromTarget(target));
  t.equal(nextWorkRequired(MAIN, chain.view(), 0), MAIN.powLimitBits, 'stays at powLimit');
});

t.test('DAA: the node pow_tests cash_difficulty scenario', async (t) => {
  const params = consensusParams(mainnet, { daaHeight: 0 });
  const chain = new ArrayChain(0);
  const initialBits = bitsFromTarget(MAIN.powLimit >> 4n);
  chain.pushSynthetic(1269211443, initialBits);
  for (let i = 1; i < 2050; i++) chain.pushSynthetic(chain.tip.time + 600, initialBits);
  const next = () => nextWorkRequired(params, chain.view(), 0);
  const add = (spacing: number, bits: number) => chain.pushSynthetic(chain.tip.time + spacing, bits);
  let bits = next();
  for (let j = 0; j < 10; j++) {
    add(600, bits);
    t.equal(next(), bits);
  }
  add(6000, bits);
  t.equal(next(), bits, 'one skewed timestamp is skipped by the median of 3');
  add(2 * 600 - 6000, bits);
  t.equal(next(), bits);
  for (let j = 0; j < 20; j++) {
    add(600, bits);
    t.equal(next(), bits);
  }
  add(550, bits);
  t.equal(next(), bits, 'the first faster block has no effect');
  for (let j = 0; j < 10; j++) {
    add(550, bits);
    const nextBits = next();
    const current = targetFromBits(bits)!;
    const nextTarget = targetFromBits(nextBits)!;
    t.ok(nextTarget < current && current - nextTarget < current >> 10n, 'difficulty rises slowly');
    bits = nextBits;
  }
  t.equal(bits, 0x1c0fe7b1);
  for (let j = 0; j < 20; j++) {
    add(10, bits);
    const nextBits = next();
    const current = targetFromBits(bits)!;
    const nextTarget = targetFromBits(nextBits)!;
    t.ok(nextTarget < current && current - nextTarget < current >> 4n, 'difficulty rises faster');
    bits = nextBits;
  }
  t.equal(bits, 0x1c0db19f);
  add(6000, bits);
  bits = next();
  t.equal(bits, 0x1c0d9222);
  for (let j = 0; j < 93; j++) {
    add(6000, bits);
    const nextBits = next();
    const current = targetFromBits(bits)!;
    const nextTarget = targetFromBits(nextBits)!;
    t.ok(nextTarget <= MAIN.powLimit && nextTarget > current && nextTarget - current < current >> 3n, 'difficulty falls');
    bits = nextBits;
  }
  t.equal(bits, 0x1c2f13b9);
  add(6000, bits);
  bits = next();
  t.equal(bits, 0x1c2ee9bf, 'the bounded window makes the next one harder');
  for (let j = 0; j < 192; j++) {
    add(6000, bits);
    bits = next();
  }
  t.equal(bits, 0x1d00ffff, 'down to powLimit');
  for (let j = 0; j < 5; j++) {
    add(6000, bits);
    t.equal(next(), MAIN.powLimitBits, 'and no easier');
  }
});

/** Mines a regtest header (half of all hashes meet 0x207fffff). */
function mineRegtest(prev: Buffer, time: number, version = 0x20000000, bits = 0x207fffff): { header: BlockHeader; hash: Buffer } {
  for (let nonce = 0; ; nonce++) {
    const header = { version, prevBlock: prev, merkleRoot: Buffer.alloc(32, 7), timestamp: time, bits, nonce };
    const hash = blockHash(header);
    if ((hash[31] & 0x80) === 0) return { header, hash };
  }
}

t.test('regtest: no retargeting, PoW, timestamps, versions', async (t) => {
  const genesis: BlockHeader = { version: 1, prevBlock: Buffer.alloc(32), merkleRoot: GENESIS_MERKLE, timestamp: 1296688602, bits: 0x207fffff, nonce: 2 };
  const genesisHash = blockHash(genesis);
  t.equal(checkGenesis(REGTEST, genesisHash), undefined, 'the regtest genesis header hashes to the genesis hash');
  t.equal(checkGenesis(MAIN, genesisHash)?.reason, 'bad-genesis');
  const chain = new ArrayChain(0);
  chain.push(genesis, genesisHash);
  const now = 1296688602 + 2000 * 600;
  for (let i = 1; i <= 1400; i++) {
    const { header, hash } = mineRegtest(chain.tip.hash, chain.tip.time + 600);
    const error = checkHeader(REGTEST, header, hash, chain.view(), now);
    if (error) t.fail(`height ${i}: ${error.message}`);
    chain.push(header, hash);
  }
  t.equal(chain.tip.height, 1400, '1400 mined regtest headers pass');

  const view = chain.view();
  const time = view.tip.time + 600;
  const refused = (header: BlockHeader, hash = blockHash(header), nowSeconds = now, v = view): HeaderRuleError | undefined =>
    checkHeader(REGTEST, header, hash, v, nowSeconds);

  const easier = mineRegtest(view.tip.hash, time, 0x20000000, 0x207fffff);
  t.equal(refused(easier.header), undefined);
  // Any other bits are refused on regtest, even a harder target with valid proof of work.
  let harder: { header: BlockHeader; hash: Buffer } | undefined;
  for (let nonce = 0; harder === undefined; nonce++) {
    const header = { ...easier.header, bits: 0x2000ffff, nonce };
    const hash = blockHash(header);
    if (hash[31] === 0 && hash[30] === 0) harder = { header, hash };
  }
  const wrongBits = refused(harder.header, harder.hash);
  t.equal(wrongBits?.reason, 'bad-diffbits');
  t.equal(wrongBits?.misbehavior, 100);
  t.equal(wrongBits?.height, 1401);
  t.equal(wrongBits?.hash, toDisplayHex(harder.hash));

  // High hash: a hash above the target.
  let high: { header: BlockHeader; hash: Buffer } | undefined;
  for (let nonce = 0; high === undefined; nonce++) {
    const header = { ...easier.header, nonce };
    const hash = blockHash(header);
    if ((hash[31] & 0x80) !== 0) high = { header, hash };
  }
  const highHash = refused(high.header, high.hash);
  t.equal(highHash?.reason, 'high-hash');
  t.equal(highHash?.misbehavior, 50);
  t.equal(refused({ ...easier.header, bits: 0x21008000 }, easier.hash)?.reason, 'high-hash', 'bits above powLimit');
  t.equal(refused({ ...easier.header, bits: 0x20800000 }, easier.hash)?.reason, 'high-hash', 'negative bits');
  t.equal(refused({ ...easier.header, bits: 0 }, easier.hash)?.reason, 'high-hash', 'zero target');

  const mtp = medianTimePast(view);
  t.equal(mtp, view.tip.time - 5 * 600, 'median of 11 evenly spaced times is the 6th from the tip');
  const atMtp = mineRegtest(view.tip.hash, mtp);
  const tooOld = refused(atMtp.header, atMtp.hash);
  t.equal(tooOld?.reason, 'time-too-old');
  t.equal(tooOld?.misbehavior, 0, 'the node gives no points for time-too-old');
  t.equal(refused(mineRegtest(view.tip.hash, mtp + 1).header), undefined, 'one second after the median passes');

  const future = mineRegtest(view.tip.hash, time);
  t.equal(refused(future.header, future.hash, time - 7200), undefined, 'exactly 2 h ahead passes');
  const tooNew = refused(future.header, future.hash, time - 7201);
  t.equal(tooNew?.reason, 'time-too-new');
  t.equal(tooNew?.misbehavior, 0);

  // Regtest BIP66 at 1251 (version >= 3) and BIP65 at 1351 (version >= 4); BIP34 never.
  const v3 = mineRegtest(view.tip.hash, time, 3);
  const badVersion = refused(v3.header, v3.hash);
  t.equal(badVersion?.reason, 'bad-version', 'version 3 after the BIP65 height');
  t.equal(badVersion?.misbehavior, 0);
  t.equal(refused(mineRegtest(view.tip.hash, time, 4).header), undefined, 'version 4 passes');
  const at1300 = chain.view(1299);
  const v3At1300 = mineRegtest(at1300.tip.hash, at1300.tip.time + 600, 3);
  t.equal(checkHeader(REGTEST, v3At1300.header, v3At1300.hash, at1300, now), undefined, 'version 3 at 1300 passes');
  const v2At1300 = mineRegtest(at1300.tip.hash, at1300.tip.time + 600, 2);
  t.equal(checkHeader(REGTEST, v2At1300.header, v2At1300.hash, at1300, now)?.reason, 'bad-version', 'version 2 at 1300 (after BIP66)');
  const at1200 = chain.view(1199);
  const v1 = mineRegtest(at1200.tip.hash, at1200.tip.time + 600, 1);
  t.equal(checkHeader(REGTEST, v1.header, v1.hash, at1200, now), undefined, 'version 1 before BIP66 passes (BIP34 never activates on regtest)');

  const unlinked = mineRegtest(Buffer.alloc(32, 1), time);
  const notFound = refused(unlinked.header, unlinked.hash);
  t.equal(notFound?.reason, 'prev-blk-not-found');
  t.equal(notFound?.misbehavior, 10);
});

t.test('checkpoints: a different header at a checkpoint height, and forks below the last checkpoint', async (t) => {
  const params = consensusParams(regtest, { checkpoints: new Map([[3, 'ff'.repeat(32)]]) });
  const chain = new ArrayChain(0);
  chain.push({ version: 1, prevBlock: Buffer.alloc(32), merkleRoot: GENESIS_MERKLE, timestamp: 1296688602, bits: 0x207fffff, nonce: 2 });
  for (let i = 1; i <= 2; i++) {
    const { header, hash } = mineRegtest(chain.tip.hash, chain.tip.time + 600);
    chain.push(header, hash);
  }
  const third = mineRegtest(chain.tip.hash, chain.tip.time + 600);
  const mismatch = checkHeader(params, third.header, third.hash, chain.view(), 2e9);
  t.equal(mismatch?.reason, 'checkpoint-mismatch');
  t.equal(mismatch?.misbehavior, 100);
  t.equal(checkHeader(REGTEST, third.header, third.hash, chain.view(), 2e9), undefined, 'the same header passes without that checkpoint');
  const fork = checkHeader(REGTEST, third.header, third.hash, chain.view(), 2e9, { lastCheckpointHeight: 10 });
  t.equal(fork?.reason, 'bad-fork-prior-to-checkpoint');
  t.equal(fork?.misbehavior, 100);
  t.equal(checkHeader(REGTEST, third.header, third.hash, chain.view(), 2e9, { lastCheckpointHeight: 3 }), undefined, 'at the checkpoint height itself is not below it');
});

t.test('EDA threshold: a median-time-past span of exactly 12 h triggers it, one second less does not', async (t) => {
  const bits = bitsFromTarget(MAIN.powLimit >> 3n);
  const build = (lastGap: number) => {
    const chain = new ArrayChain(1000);
    for (let i = 0; i < 30; i++) chain.pushSynthetic(1_500_000_000 + i * 600, bits);
    // The span is time[tip-5] - time[tip-11]: the six gaps before tip-5 are slow, the five after are not.
    for (let i = 0; i < 5; i++) chain.pushSynthetic(chain.tip.time + 7200, bits);
    chain.pushSynthetic(chain.tip.time + lastGap, bits);
    for (let i = 0; i < 5; i++) chain.pushSynthetic(chain.tip.time + 600, bits);
    return chain;
  };
  const spanOf = (chain: ArrayChain) => medianTimePast(chain.view()) - medianTimePast(chain.view(chain.tip.height - 6));
  const atThreshold = build(7200);
  t.equal(spanOf(atThreshold), 12 * 3600);
  const target = targetFromBits(bits)!;
  t.equal(nextWorkRequired(MAIN, atThreshold.view(), 0), bitsFromTarget(target + (target >> 2n)), 'exactly 12 h: target +25%');
  const below = build(7199);
  t.equal(spanOf(below), 12 * 3600 - 1);
  t.equal(nextWorkRequired(MAIN, below.view(), 0), bits, 'one second less: unchanged');
});

t.test('compactOf (the fast compact encoder) agrees with bitsFromTarget', async (t) => {
  let seed = 12345;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed;
  };
  let checked = 0;
  for (let bitsLength = 1; bitsLength <= 256; bitsLength++) {
    for (let i = 0; i < 20; i++) {
      let target = 1n;
      for (let b = 1; b < bitsLength; b++) target = (target << 1n) | BigInt(random() & 1);
      if (compactOf(target) !== bitsFromTarget(target)) t.fail(`target 0x${target.toString(16)}`);
      checked++;
    }
  }
  for (const target of [0n, 1n, 0x7fn, 0x80n, 0xffn, 0x7fffffn, 0x800000n, 0xffffffn, MAIN.powLimit, REGTEST.powLimit]) {
    t.equal(compactOf(target), bitsFromTarget(target), `0x${target.toString(16)}`);
  }
  t.equal(checked, 5120);
});

t.test('testnet before the DAA: minimum difficulty after 20 minutes, then back to the last real bits', async (t) => {
  const TEST = consensusParams(testnet);
  const real = 0x1c0ffff0;
  const build = (salt: number, realBits: number) => {
    const chain = new ArrayChain(4040);
    for (let i = 0; i < 10; i++) chain.pushSynthetic(1_400_000_000 + i * 600, realBits, salt);
    for (let i = 0; i < 30; i++) chain.pushSynthetic(chain.tip.time + 1300, TEST.powLimitBits, salt);
    return chain;
  };
  const a = build(1, real);
  t.equal(nextWorkRequired(TEST, a.view(), a.tip.time + 1201), TEST.powLimitBits, 'more than 20 minutes: the limit');
  t.equal(nextWorkRequired(TEST, a.view(), a.tip.time + 1200), real, 'at 20 minutes: the bits of the last header not mined at the limit');
  // A second branch over the same heights with other bits: the walk's memo must not answer for the wrong branch.
  const b = build(2, 0x1c0aaaaa);
  t.equal(nextWorkRequired(TEST, b.view(), b.tip.time + 60), 0x1c0aaaaa, 'the other branch has its own last real bits');
  t.equal(nextWorkRequired(TEST, a.view(), a.tip.time + 60), real, 'and the first branch still has its own');
  t.equal(nextWorkRequired(TEST, a.view(a.tip.height - 3), 0), real, 'from an earlier tip of the same branch too');
  t.equal(nextWorkRequired(consensusParams(mainnet), a.view(), a.tip.time + 1201), TEST.powLimitBits, 'mainnet keeps the parent bits (here the limit)');

  // The walk stops at a period boundary: a minimum-difficulty header at a multiple of 2016 is taken as real.
  const boundary = new ArrayChain(6040);
  for (let i = 0; i < 5; i++) boundary.pushSynthetic(1_400_000_000 + i * 600, real);
  for (let i = 0; i < 20; i++) boundary.pushSynthetic(boundary.tip.time + 1300, TEST.powLimitBits);
  t.ok(boundary.view().at(6048)?.bits === TEST.powLimitBits);
  t.equal(nextWorkRequired(TEST, boundary.view(), boundary.tip.time + 60), TEST.powLimitBits, 'the walk ends at height 6048 and takes its bits, as the node does');
});

t.test('stn parameters', async (t) => {
  const STN = consensusParams(stn);
  t.equal(STN.genesisHash, '000000000933ea01ad0ee984209779baaec3ced90fa3f408719526f8d77f4943');
  t.equal(STN.uahfHeight, 15);
  t.equal(STN.allowMinDifficultyBlocks, false);
  t.equal(STN.checkpoints.get(11), '00000000e1ad0ed45011a4c7fe5afde3211b4bdcf60370234355338afbf70e2d');
  t.equal(STN.checkpoints.size, 11, 'heights 0-2 and 4-11 (the node lists no 3)');
});

t.test('checkGenesis on the real mainnet genesis header', async (t) => {
  const genesis: BlockHeader = { version: 1, prevBlock: Buffer.alloc(32), merkleRoot: GENESIS_MERKLE, timestamp: 1231006505, bits: 0x1d00ffff, nonce: 2083236893 };
  const hash = blockHash(genesis);
  t.equal(checkGenesis(MAIN, hash), undefined);
  t.ok(checkProofOfWork(MAIN, hash, genesis.bits), 'it meets its own bits');
  const wrong = checkGenesis(consensusParams(testnet), hash);
  t.equal(wrong?.reason, 'bad-genesis');
  t.equal(wrong?.height, 0);
});

t.test('a view without the ancestors the rules need is a caller bug: RangeError, never a silent pass', async (t) => {
  const chain = new ArrayChain(4000);
  for (let i = 0; i < 20; i++) chain.pushSynthetic(1_400_000_000 + i * 600, 0x1c0ffff0);
  const header: BlockHeader = { version: 4, prevBlock: chain.tip.hash, merkleRoot: Buffer.alloc(32), timestamp: chain.tip.time + 600, bits: 0x1c0ffff0, nonce: 0 };
  // Height 4020 under the DAA needs ancestors back to 3874, which this window does not hold.
  t.throws(() => nextWorkRequired(consensusParams(mainnet, { daaHeight: 0 }), chain.view(), header.timestamp), RangeError);
  t.throws(() => nextWorkRequired(MAIN, chain.view(4002), header.timestamp), RangeError, 'the EDA medians need 16 ancestors');
});
