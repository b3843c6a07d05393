// Header validation as the BSV node applies it when it accepts a header (AcceptBlockHeader in
// src/validation.cpp): proof of work (CheckBlockHeader), checkpoints (CheckIndexAgainstCheckpoint), then
// expected bits, timestamps and version (ContextualCheckBlockHeader). The difficulty rules follow
// src/pow.cpp. Pure functions of the header, its parent's branch and the clock; no I/O, no state but two
// one-entry memos that only save time.
import type { BlockHeader } from '../messages/block-header.js';
import { toDisplayHex } from '../hash.js';
import type { ConsensusParams } from './consensus.js';
import type { ChainView, HeaderEntry } from './types.js';
import { targetFromBits } from './work.js';

/** Why a header was refused; the strings are the node's reject reasons where it has one. */
export type HeaderRejectReason =
  /** The hash is above the target its bits claim, or the bits are zero, negative, overflowing or above powLimit. */
  | 'high-hash'
  /** The bits are not what the difficulty rules require after this parent. */
  | 'bad-diffbits'
  /** The time is not after the median of the parent's last 11 timestamps. */
  | 'time-too-old'
  /** The time is more than 2 hours ahead of the caller's (network-adjusted) clock. */
  | 'time-too-new'
  /** Version below 2, 3 or 4 at or after the BIP34, BIP66 or BIP65 height. */
  | 'bad-version'
  /** A checkpoint height holds another hash. */
  | 'checkpoint-mismatch'
  /** A new branch leaves the chain below the highest checkpoint already held. */
  | 'bad-fork-prior-to-checkpoint'
  /** The header does not link to the parent it was checked against. */
  | 'prev-blk-not-found'
  /** Block 0 is not the network's genesis block. */
  | 'bad-genesis';

/**
 * Misbehaviour points the node gives a peer for each failure (the nDoS of the CValidationState that
 * ProcessHeadersMessage passes to Misbehaving; 0 means the headers are dropped but the peer is not scored).
 */
export const HEADER_REJECT_POINTS: Readonly<Record<HeaderRejectReason, number>> = Object.freeze({
  'high-hash': 50, // CheckBlockHeader: state.DoS(50, ..., "high-hash")
  'bad-diffbits': 100, // ContextualCheckBlockHeader: state.DoS(100, ..., "bad-diffbits")
  'time-too-old': 0, // state.Invalid(...): no points
  'time-too-new': 0, // state.Invalid(...): no points
  'bad-version': 0, // state.Invalid(..., REJECT_OBSOLETE, "bad-version(0x...)"): no points
  'checkpoint-mismatch': 100, // CheckIndexAgainstCheckpoint: state.DoS(100, ..., "checkpoint mismatch")
  'bad-fork-prior-to-checkpoint': 100, // CheckIndexAgainstCheckpoint
  'prev-blk-not-found': 10, // FindPreviousBlockIndex: state.DoS(10, ..., "prev-blk-not-found")
  'bad-genesis': 0, // not a node rule: a local check of a store's or a view's block 0
});

export class HeaderRuleError extends Error {
  override readonly name = 'HeaderRuleError';
  /** Points to give the peer that sent the header, as the node scores it. */
  readonly misbehavior: number;
  constructor(
    readonly reason: HeaderRejectReason,
    readonly height: number,
    /** Display hex of the refused header's hash. */
    readonly hash: string,
    message: string,
  ) {
    super(`header ${height} ${hash}: ${reason}: ${message}`);
    this.misbehavior = HEADER_REJECT_POINTS[reason];
  }
}

export interface CheckHeaderOptions {
  /**
   * Height of the highest checkpoint whose header the caller already holds (the node's GetLastCheckpoint:
   * the last checkpoint found in its block index). A header below it is a fork older than the checkpoint
   * and is refused. Omit when no checkpoint is held.
   */
  readonly lastCheckpointHeight?: number;
}

function ancestor(view: ChainView, height: number): HeaderEntry {
  const entry = view.at(height);
  if (entry === undefined) throw new RangeError(`chain view of tip ${view.tip.height} has no ancestor at height ${height}`);
  return entry;
}

// Scratch space for median-time-past: no allocation per header.
const mtpScratch = new Float64Array(11);

/** Median of the timestamps of `height` and up to 10 of its ancestors, as CBlockIndex::GetMedianTimePast. */
function medianTimePastAt(view: ChainView, height: number, span = 11): number {
  let n = 0;
  for (let h = height; h >= 0 && n < span; h--) {
    // Insertion sort as we go: at most 11 elements.
    const time = ancestor(view, h).time;
    let i = n++;
    while (i > 0 && mtpScratch[i - 1] > time) {
      mtpScratch[i] = mtpScratch[i - 1];
      i--;
    }
    mtpScratch[i] = time;
  }
  return mtpScratch[n >>> 1];
}

/** Median time past of a branch's tip: the median of its last 11 timestamps (fewer near genesis); RangeError if the view lacks one. */
export function medianTimePast(view: ChainView): number {
  return medianTimePastAt(view, view.tip.height);
}

const TWO_256 = 1n << 256n;
const MASK_256 = TWO_256 - 1n;

/**
 * The compact form of a target, as arith_uint256::GetCompact writes it; the same result as work.ts's
 * bitsFromTarget with one shift instead of a byte-by-byte loop (this runs once per header under the DAA).
 */
export function compactOf(target: bigint): number {
  if (target <= 0n) return 0;
  let size = (target.toString(16).length + 1) >>> 1;
  let mantissa = size <= 3 ? Number(target) * 2 ** (8 * (3 - size)) : Number(target >> BigInt(8 * (size - 3)));
  if (mantissa & 0x00800000) {
    mantissa >>>= 8;
    size++;
  }
  return (mantissa | (size << 24)) >>> 0;
}

/** The original retarget (CalculateNextWorkRequired): parent's target × actual / expected timespan, clamped to 4x. */
export function calculateNextWorkRequired(params: ConsensusParams, parent: HeaderEntry, firstBlockTime: number): number {
  if (params.noRetargeting) return parent.bits;
  let actual = parent.time - firstBlockTime;
  const quarter = Math.trunc(params.targetTimespan / 4);
  if (actual < quarter) actual = quarter;
  if (actual > params.targetTimespan * 4) actual = params.targetTimespan * 4;
  // arith_uint256 arithmetic: the product wraps at 2^256.
  let target = (((targetFromBits(parent.bits) ?? 0n) * BigInt(actual)) & MASK_256) / BigInt(params.targetTimespan);
  if (target > params.powLimit) target = params.powLimit;
  return compactOf(target);
}

// One-entry memo for testnet's walk back over minimum-difficulty headers: a long run of them would
// otherwise cost up to 2015 lookups per header.
let minDiffMemo: { readonly params: ConsensusParams; readonly from: HeaderEntry; readonly bits: number } | undefined;

/** Legacy retarget every 2016 headers plus testnet's minimum-difficulty rule and the EDA (GetNextEDAWorkRequired). */
function nextEdaWorkRequired(params: ConsensusParams, parent: ChainView, newHeaderTime: number): number {
  const prev = parent.tip;
  const height = prev.height + 1;
  const interval = params.retargetInterval;
  if (height % interval === 0) {
    // The period's first header is `interval` back from the new one, so the measured span covers
    // 2015 intervals (the original off-by-one, kept by consensus).
    return calculateNextWorkRequired(params, prev, ancestor(parent, height - interval).time);
  }
  const limitBits = params.powLimitBits;
  if (params.allowMinDifficultyBlocks) {
    if (newHeaderTime > prev.time + 2 * params.targetSpacing) return limitBits;
    // The bits of the last header not mined under the minimum-difficulty rule.
    let entry = prev;
    const memo = minDiffMemo;
    while (entry.height !== 0 && entry.height % interval !== 0 && entry.bits === limitBits) {
      if (memo !== undefined && memo.params === params && entry.height === memo.from.height && entry.hash.equals(memo.from.hash)) {
        return memo.bits;
      }
      entry = ancestor(parent, entry.height - 1);
    }
    if (prev !== entry) minDiffMemo = { params, from: prev, bits: entry.bits };
    return entry.bits;
  }
  const bits = prev.bits;
  if (bits === limitBits) return limitBits;
  // EDA: if the last 6 headers took 12 hours or more by median time past, the target grows by a quarter.
  if (prev.height < 6) return bits;
  const mtpSpan = medianTimePastAt(parent, prev.height) - medianTimePastAt(parent, prev.height - 6);
  if (mtpSpan < 12 * 3600) return bits;
  let target = targetFromBits(bits) ?? 0n;
  target += target >> 2n;
  if (target > params.powLimit) target = params.powLimit;
  return compactOf(target);
}

/** Of a header and its two parents, the one with the median timestamp (GetSuitableBlock). */
function suitableBlock(view: ChainView, height: number): HeaderEntry {
  let a = ancestor(view, height - 2);
  let b = ancestor(view, height - 1);
  let c = ancestor(view, height);
  // The node's three-step sorting network, so ties resolve to the same header.
  if (a.time > c.time) [a, c] = [c, a];
  if (a.time > b.time) [a, b] = [b, a];
  if (b.time > c.time) [b, c] = [c, b];
  return b;
}

/** The per-block DAA from November 2017 (GetNextCashWorkRequired). */
function nextCashWorkRequired(params: ConsensusParams, parent: ChainView, newHeaderTime: number): number {
  const prev = parent.tip;
  if (params.allowMinDifficultyBlocks && newHeaderTime > prev.time + 2 * params.targetSpacing) return params.powLimitBits;
  const last = suitableBlock(parent, prev.height);
  const first = suitableBlock(parent, prev.height - 144);
  // ComputeTarget: the work of the window per targetSpacing of the (clamped) time it took.
  let work = (last.chainWork - first.chainWork) * BigInt(params.targetSpacing);
  let timespan = last.time - first.time;
  if (timespan > 288 * params.targetSpacing) timespan = 288 * params.targetSpacing;
  else if (timespan < 72 * params.targetSpacing) timespan = 72 * params.targetSpacing;
  work /= BigInt(timespan);
  if (work === 0n) return params.powLimitBits;
  // T = 2^256 / W - 1, computed as (2^256 - W) / W.
  const target = (TWO_256 - work) / work;
  if (target > params.powLimit) return params.powLimitBits;
  return compactOf(target);
}

/** The bits a header must carry after `parent`'s tip (GetNextWorkRequired). */
export function nextWorkRequired(params: ConsensusParams, parent: ChainView, newHeaderTime: number): number {
  if (params.noRetargeting) return parent.tip.bits;
  if (parent.tip.height >= params.daaHeight) return nextCashWorkRequired(params, parent, newHeaderTime);
  return nextEdaWorkRequired(params, parent, newHeaderTime);
}

/**
 * Whether a wire-order hash is at or below the target of `bits`, compared byte by byte without building
 * either number. The caller has already checked that bits encode a valid positive target.
 */
function hashMeetsBits(hash: Buffer, bits: number): boolean {
  const size = bits >>> 24;
  const mantissa = bits & 0x007fffff;
  if (size <= 3 || size > 32) {
    const target = targetFromBits(bits) ?? 0n;
    return BigInt('0x' + toDisplayHex(hash)) <= target;
  }
  // The target is the mantissa's three bytes at positions size-1..size-3 (little-endian), zeros elsewhere.
  for (let i = 31; i >= size; i--) if (hash[i] !== 0) return false;
  const m2 = (mantissa >>> 16) & 0xff;
  const m1 = (mantissa >>> 8) & 0xff;
  const m0 = mantissa & 0xff;
  if (hash[size - 1] !== m2) return hash[size - 1] < m2;
  if (hash[size - 2] !== m1) return hash[size - 2] < m1;
  if (hash[size - 3] !== m0) return hash[size - 3] < m0;
  for (let i = size - 4; i >= 0; i--) if (hash[i] !== 0) return false;
  return true;
}

// The bits last found to encode a valid target (positive, in range, not above powLimit) under these params.
let validBits = -1;
let validBitsParams: ConsensusParams | undefined;

/** CheckProofOfWork: bits encode a positive target no easier than powLimit, and the hash meets it. */
export function checkProofOfWork(params: ConsensusParams, hash: Buffer, bits: number): boolean {
  if (bits !== validBits || params !== validBitsParams) {
    const target = targetFromBits(bits);
    if (target === undefined || target === 0n || target > params.powLimit) return false;
    validBits = bits;
    validBitsParams = params;
  }
  return hashMeetsBits(hash, bits);
}

const checkpointCache = new WeakMap<ConsensusParams, ReadonlyMap<number, Buffer>>();

function checkpointsInWireOrder(params: ConsensusParams): ReadonlyMap<number, Buffer> {
  let map = checkpointCache.get(params);
  if (map === undefined) {
    map = new Map([...params.checkpoints].map(([height, hex]) => [height, Buffer.from(hex, 'hex').reverse()]));
    checkpointCache.set(params, map);
  }
  return map;
}

/**
 * Checks a header against its parent's branch, in the node's order: proof of work, linkage, checkpoints,
 * expected bits, median time past, future limit, version. Returns the first failure, or undefined when
 * the header is valid. `hash` is the header's wire-order hash (computed once by the caller);
 * `nowSeconds` is the caller's network-adjusted clock (the node's GetAdjustedTime).
 *
 * The view must answer at() for every ancestor the rules look at (up to 2016 back at a retarget, 146 under the
 * DAA, 16 for the EDA's medians); a missing one is the caller's bug and throws a RangeError.
 */
export function checkHeader(
  params: ConsensusParams,
  header: BlockHeader,
  hash: Buffer,
  parent: ChainView,
  nowSeconds: number,
  options?: CheckHeaderOptions,
): HeaderRuleError | undefined {
  const prev = parent.tip;
  const height = prev.height + 1;

  if (!checkProofOfWork(params, hash, header.bits)) {
    return refuse('high-hash', height, hash, `proof of work failed for bits 0x${hex32(header.bits)}`);
  }
  if (!header.prevBlock.equals(prev.hash)) {
    return refuse('prev-blk-not-found', height, hash, `previous block ${toDisplayHex(header.prevBlock)} is not ${toDisplayHex(prev.hash)}`);
  }
  const checkpoint = checkpointsInWireOrder(params).get(height);
  if (checkpoint !== undefined && !checkpoint.equals(hash)) {
    return refuse('checkpoint-mismatch', height, hash, `checkpoint at height ${height} is ${toDisplayHex(checkpoint)}`);
  }
  const lastCheckpoint = options?.lastCheckpointHeight;
  if (lastCheckpoint !== undefined && height < lastCheckpoint) {
    return refuse('bad-fork-prior-to-checkpoint', height, hash, `forked chain older than the last checkpoint (height ${lastCheckpoint})`);
  }
  const expected = nextWorkRequired(params, parent, header.timestamp);
  if (header.bits !== expected) {
    return refuse('bad-diffbits', height, hash, `bits 0x${hex32(header.bits)}, expected 0x${hex32(expected)}`);
  }
  const mtp = medianTimePastAt(parent, prev.height);
  if (header.timestamp <= mtp) {
    return refuse('time-too-old', height, hash, `time ${header.timestamp} is not after the median time past ${mtp}`);
  }
  if (header.timestamp > nowSeconds + params.maxFutureBlockTime) {
    return refuse('time-too-new', height, hash, `time ${header.timestamp} is more than ${params.maxFutureBlockTime} s after now (${nowSeconds})`);
  }
  const version = header.version;
  if ((version < 2 && height >= params.bip34Height) || (version < 3 && height >= params.bip66Height) || (version < 4 && height >= params.bip65Height)) {
    return refuse('bad-version', height, hash, `version 0x${hex32(version >>> 0)} is obsolete at height ${height}`);
  }
  return undefined;
}

/** Block 0 of a chain must be the network's genesis block: its hash (wire order) must be params.genesisHash. */
export function checkGenesis(params: ConsensusParams, hash: Buffer): HeaderRuleError | undefined {
  const display = toDisplayHex(hash);
  if (display === params.genesisHash) return undefined;
  return new HeaderRuleError('bad-genesis', 0, display, `block 0 is not the ${params.rules} genesis ${params.genesisHash}`);
}

function refuse(reason: HeaderRejectReason, height: number, hash: Buffer, message: string): HeaderRuleError {
  return new HeaderRuleError(reason, height, toDisplayHex(hash), message);
}

function hex32(value: number): string {
  return value.toString(16).padStart(8, '0');
}
