// The header rules against real chain data: every fixture header must hash to its known hash, link to its
// parent and pass checkHeader in sequence; forged variants must be refused. Provenance is in each fixture.
import { readFileSync } from 'node:fs';
import t from 'tap';
import { consensusParams } from '../../lib/chain/consensus.js';
import { checkHeader, checkProofOfWork, medianTimePast, nextWorkRequired } from '../../lib/chain/rules.js';
import { bitsFromTarget, blockWork, targetFromBits } from '../../lib/chain/work.js';
import { toDisplayHex } from '../../lib/hash.js';
import type { BlockHeader } from '../../lib/messages/block-header.js';
import { mainnet, testnet } from '../../lib/networks.js';
import { FixtureChain, parseHeaderFixture } from './rules-helpers.js';

const MAIN = consensusParams(mainnet);
const TEST = consensusParams(testnet);

function load(name: string): FixtureChain {
  return new FixtureChain(parseHeaderFixture(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')));
}

/** Checks every header from `from` to `to` against its parent's view; returns the heights that failed, with reasons. */
function checkRange(chain: FixtureChain, params: typeof MAIN, from: number, to: number): string[] {
  const failures: string[] = [];
  for (let height = from; height <= to; height++) {
    const { header } = chain.headers.get(height)!;
    const entry = chain.byHeight.get(height)!;
    const error = checkHeader(params, header, entry.hash, chain.view(height - 1), header.timestamp);
    if (error) failures.push(`${height}: ${error.reason} ${error.message}`);
  }
  return failures;
}

/** Bits easier than `bits` (twice the target), so the real hash still meets them and only the bits rule can refuse. */
function easier(bits: number): number {
  return bitsFromTarget(targetFromBits(bits)! * 2n);
}

t.test('the 2016-block retarget at 296352 (mainnet, April 2014)', async (t) => {
  const chain = load('mainnet-retarget-296352.txt');
  t.equal(toDisplayHex(chain.byHeight.get(294336)!.hash), '00000000000000009bd3ff597773e2fb16310491f6c1e69c85938f51b561d663', 'first header of the period');
  t.equal(toDisplayHex(chain.byHeight.get(296352)!.hash), '00000000000000003decdbb5f3811eab3148fbc29d3610528eb3b50d9ee5723f', 'the retarget header');
  t.equal(chain.byHeight.get(296351)!.bits, 0x1900b3aa);
  t.equal(chain.byHeight.get(296352)!.bits, 0x19009d8c, 'the bits really change at the retarget');
  // 17 ancestors are needed from 296223 on: the EDA rule (in force on all pre-DAA heights) compares two medians.
  t.same(checkRange(chain, MAIN, 296223, 296352), [], '130 real headers pass in sequence, the retarget included');
  t.equal(nextWorkRequired(MAIN, chain.view(296351), 0), 0x19009d8c, 'retarget measured from the period\'s first header (2015 intervals)');

  const { header } = chain.headers.get(296352)!;
  const hash = chain.byHeight.get(296352)!.hash;
  const kept = checkHeader(MAIN, { ...header, bits: 0x1900b3aa }, hash, chain.view(296351), header.timestamp);
  t.equal(kept?.reason, 'bad-diffbits', 'keeping the old bits at a retarget is refused');
  t.equal(kept?.misbehavior, 100);
  t.equal(checkHeader(MAIN, { ...chain.headers.get(296351)!.header, bits: easier(0x1900b3aa) }, chain.byHeight.get(296351)!.hash, chain.view(296350), 2e9)?.reason, 'bad-diffbits', 'easier bits inside a period are refused');
});

t.test('the UAHF and the first EDA (mainnet, August 2017)', async (t) => {
  const chain = load('mainnet-uahf-eda-daa.txt');
  t.equal(toDisplayHex(chain.byHeight.get(478558)!.hash), MAIN.checkpoints.get(478558), 'the fork block is the node checkpoint');
  t.same(checkRange(chain, MAIN, 478567, 478577), [], 'real headers 478567..478577 pass');
  t.equal(chain.byHeight.get(478576)!.bits, 0x18014735);
  t.equal(chain.byHeight.get(478577)!.bits, 0x18019902, 'bits at 478577 are the real EDA step');
  const target = targetFromBits(0x18014735)!;
  t.equal(bitsFromTarget(target + (target >> 2n)), 0x18019902, 'which is the target plus a quarter');
  const view = chain.view(478576);
  t.ok(medianTimePast(view) - medianTimePast(chain.view(478570)) >= 12 * 3600, 'the six headers before it took 12 h or more by median time');
  t.ok(medianTimePast(chain.view(478575)) - medianTimePast(chain.view(478569)) < 12 * 3600, 'one header earlier they had not');

  const { header } = chain.headers.get(478577)!;
  const hash = chain.byHeight.get(478577)!.hash;
  t.equal(checkHeader(MAIN, { ...header, bits: easier(0x18019902) }, hash, view, header.timestamp)?.reason, 'bad-diffbits', 'an EDA step larger than a quarter is refused');
  const mtp = medianTimePast(view);
  t.equal(checkHeader(MAIN, { ...header, timestamp: mtp }, hash, view, header.timestamp)?.reason, 'time-too-old', 'a time at the median time past is refused');
  t.equal(checkHeader(MAIN, header, hash, view, header.timestamp - 7201)?.reason, 'time-too-new', 'a time more than 2 h ahead of the clock is refused');
  t.equal(checkHeader(MAIN, { ...header, version: 3 }, hash, view, header.timestamp)?.reason, 'bad-version', 'version 3 after the BIP65 height is refused');
  const forkBlock = chain.headers.get(478558)!.header;
  const mismatch = checkHeader(MAIN, { ...forkBlock, nonce: 1 }, chain.byHeight.get(478559)!.hash, chain.view(478557), forkBlock.timestamp);
  t.equal(mismatch?.reason, 'checkpoint-mismatch', 'another header at the UAHF checkpoint height is refused');
});

t.test('a 2016-block retarget during the EDA months (mainnet 479808)', async (t) => {
  const chain = load('mainnet-uahf-eda-daa.txt');
  t.same(checkRange(chain, MAIN, 479807, 479808), [], 'real headers 479807 and 479808 pass');
  t.equal(chain.byHeight.get(479807)!.bits, 0x180985d7);
  t.equal(chain.byHeight.get(479808)!.bits, 0x18101dcc, 'the retarget (from the time of 477792) eases the bits');
  const { header } = chain.headers.get(479808)!;
  t.equal(checkHeader(MAIN, { ...header, bits: easier(0x18101dcc) }, chain.byHeight.get(479808)!.hash, chain.view(479807), header.timestamp)?.reason, 'bad-diffbits');
});

t.test('the switch to the per-block DAA (mainnet 504031/504032)', async (t) => {
  const chain = load('mainnet-uahf-eda-daa.txt');
  t.equal(toDisplayHex(chain.byHeight.get(504031)!.hash), MAIN.checkpoints.get(504031), 'the DAA activation block is the node checkpoint');
  // The fixture holds both ends of the 144-header window with the node's chain work, not the headers between,
  // so the bits rule is checked on its own here (the time rules need the 11 headers before each one).
  for (let h = 503885; h <= 503889; h++) {
    const work = chain.byHeight.get(h)!.chainWork - chain.byHeight.get(h - 1)!.chainWork;
    t.equal(work, blockWork(chain.byHeight.get(h)!.bits), `the node's chain work at ${h} grows by blockWork(bits)`);
  }
  t.equal(chain.byHeight.get(504031)!.bits, 0x18021abd, 'the last header under the old rules');
  t.equal(nextWorkRequired(MAIN, chain.view(504031), chain.byHeight.get(504032)!.time), 0x1805b42b, '504032: the first DAA bits');
  t.equal(chain.byHeight.get(504032)!.bits, 0x1805b42b);
  t.equal(nextWorkRequired(MAIN, chain.view(504032), chain.byHeight.get(504033)!.time), 0x1805c8df, '504033: the second');
  t.equal(chain.byHeight.get(504033)!.bits, 0x1805c8df);
  for (const h of [504032, 504033]) {
    const entry = chain.byHeight.get(h)!;
    t.ok(checkProofOfWork(MAIN, entry.hash, entry.bits), `${h} meets its bits`);
    t.ok(chain.byHeight.get(h - 1)!.hash.equals(entry.prevHash), `${h} links to ${h - 1}`);
  }
});

t.test('the per-block DAA on BSV mainnet (886148..886500, 2025)', async (t) => {
  const chain = load('mainnet-daa-886001-886500.txt');
  t.same(checkRange(chain, MAIN, 886148, 886500), [], '353 real headers pass in sequence');
  let changes = 0;
  for (let h = 886149; h <= 886500; h++) if (chain.byHeight.get(h)!.bits !== chain.byHeight.get(h - 1)!.bits) changes++;
  t.ok(changes > 300, `the bits change at almost every header (${changes} of 352)`);

  const view = chain.view(886499);
  const { header } = chain.headers.get(886500)!;
  const hash = chain.byHeight.get(886500)!.hash;
  const refused = (forged: BlockHeader, now = header.timestamp) => checkHeader(MAIN, forged, hash, view, now)?.reason;
  t.equal(refused({ ...header, bits: easier(header.bits) }), 'bad-diffbits', 'easier bits are refused');
  t.equal(refused({ ...header, bits: header.bits + 1 }), 'bad-diffbits', 'bits off by one in the mantissa are refused');
  t.equal(refused({ ...header, timestamp: medianTimePast(view) }), 'time-too-old');
  t.equal(refused({ ...header, timestamp: medianTimePast(view) + 1 }), undefined, 'one second after the median time past passes (the DAA ignores the new time)');
  t.equal(refused(header, header.timestamp - 7201), 'time-too-new');
  t.equal(refused(header, header.timestamp - 7200), undefined, 'exactly 2 h ahead passes');
  t.equal(refused({ ...header, version: 1 }), 'bad-version', 'version 1 after BIP34');
  t.equal(refused({ ...header, version: 2 }), 'bad-version', 'version 2 after BIP66');
  t.equal(refused({ ...header, version: 4 }), undefined, 'version 4 passes');
  t.equal(refused({ ...header, prevBlock: Buffer.alloc(32) }), 'prev-blk-not-found');
  const wrongHash = Buffer.from(hash);
  wrongHash[31] = 1;
  const highHash = checkHeader(MAIN, header, wrongHash, view, header.timestamp);
  t.equal(highHash?.reason, 'high-hash', 'a hash above the target fails proof of work');
  t.equal(highHash?.misbehavior, 50);
});

t.test('testnet minimum-difficulty headers under the DAA (1602677..1602710)', async (t) => {
  const chain = load('testnet-1602530-1602710.txt');
  t.same(checkRange(chain, TEST, 1602677, 1602710), [], '34 real testnet headers pass in sequence');
  const minDifficulty = [...chain.byHeight.values()].filter((e) => e.height >= 1602677 && e.bits === TEST.powLimitBits);
  t.same(minDifficulty.map((e) => e.height), [1602677, 1602681, 1602683, 1602689, 1602692, 1602699, 1602705, 1602709], 'eight of them at the minimum difficulty');
  for (const entry of minDifficulty) t.ok(entry.time > chain.byHeight.get(entry.height - 1)!.time + 1200, `${entry.height} came more than 20 minutes after its parent`);

  const { header } = chain.headers.get(1602683)!;
  const hash = chain.byHeight.get(1602683)!.hash;
  const parent = chain.view(1602682);
  t.equal(checkHeader(TEST, { ...header, timestamp: parent.tip.time + 1200 }, hash, parent, header.timestamp)?.reason, 'bad-diffbits', 'minimum difficulty exactly 20 minutes after the parent is refused');
  t.equal(checkHeader(TEST, { ...header, timestamp: parent.tip.time + 1201 }, hash, parent, header.timestamp), undefined, 'one second later it is allowed');
  t.equal(checkHeader(MAIN, header, hash, parent, header.timestamp)?.reason, 'bad-diffbits', 'mainnet has no such rule');
});

t.test('testnet minimum-difficulty headers before the DAA: the walk back to the last real bits (478562, 1155877)', async (t) => {
  const chain = load('testnet-min-difficulty-pre-daa.txt');
  t.equal(toDisplayHex(chain.byHeight.get(1155875)!.hash), TEST.checkpoints.get(1155875), 'the testnet UAHF checkpoint');
  for (const [limitHeights, backHeight, realBits] of [
    [[478561], 478562, 0x1b11ad70],
    [[1155873, 1155874, 1155875, 1155876], 1155877, 0x1a067539],
  ] as const) {
    for (const height of limitHeights) {
      const entry = chain.byHeight.get(height)!;
      t.equal(entry.bits, TEST.powLimitBits, `${height} is at the limit`);
      t.equal(nextWorkRequired(TEST, chain.view(height - 1), entry.time), TEST.powLimitBits, `${height}: more than 20 minutes after its parent, the limit is required`);
      t.ok(checkProofOfWork(TEST, entry.hash, entry.bits), `${height} meets its bits`);
    }
    const back = chain.byHeight.get(backHeight)!;
    t.equal(back.bits, realBits);
    t.equal(nextWorkRequired(TEST, chain.view(backHeight - 1), back.time), realBits, `${backHeight}: within 20 minutes, the bits of the last header not at the limit`);
    t.ok(checkProofOfWork(TEST, back.hash, back.bits));
    t.not(nextWorkRequired(TEST, chain.view(backHeight - 1), back.time), TEST.powLimitBits);
  }
});
