// Compact "bits" targets and the work they stand for, in bigint (no Bn objects on the hot path).

const TWO_256 = 1n << 256n;

/**
 * The target that compact bits encode, as the node's arith_uint256::SetCompact reads it; undefined when
 * the sign bit is set with a non-zero mantissa, or the value overflows 256 bits.
 */
export function targetFromBits(bits: number): bigint | undefined {
  const exponent = bits >>> 24;
  const mantissa = bits & 0x007fffff;
  const negative = (bits & 0x00800000) !== 0;
  let target: bigint;
  if (exponent <= 3) target = BigInt(mantissa >>> (8 * (3 - exponent)));
  else target = BigInt(mantissa) << BigInt(8 * (exponent - 3));
  if (negative && mantissa !== 0) return undefined;
  if (mantissa !== 0 && (exponent > 34 || (mantissa > 0xff && exponent > 33) || (mantissa > 0xffff && exponent > 32))) return undefined;
  return target;
}

/** The compact form of a target, as arith_uint256::GetCompact writes it (never with the sign bit set). */
export function bitsFromTarget(target: bigint): number {
  let size = 0;
  for (let t = target; t > 0n; t >>= 8n) size++;
  let compact: number;
  if (size <= 3) compact = Number(target << BigInt(8 * (3 - size)));
  else compact = Number(target >> BigInt(8 * (size - 3)));
  if (compact & 0x00800000) {
    compact >>>= 8;
    size++;
  }
  return (compact | (size << 24)) >>> 0;
}

/** The expected number of hashes to find a header with these bits: 2^256 / (target + 1); 0 for an invalid or zero target. */
export function blockWork(bits: number): bigint {
  const target = targetFromBits(bits);
  if (target === undefined || target === 0n) return 0n;
  return TWO_256 / (target + 1n);
}
