// Pure DNS message helpers: build a query, recognise its reply, read addresses from it.
import { randomInt } from 'node:crypto';
import { isIP } from 'node:net';
import { decode, encode, RECURSION_DESIRED, type Answer, type DecodedPacket } from 'dns-packet';

/** The address record types seed discovery asks for. */
export type AddressRecordType = 'A' | 'AAAA';

/** One address from an answer section, with the TTL the resolver gave it. */
export interface AddressRecord {
  readonly address: string;
  readonly ttl: number;
}

const RCODES = [
  'NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET',
  'NXRRSET', 'NOTAUTH', 'NOTZONE',
] as const;

/** A fresh, unpredictable 16-bit query id (an off-path attacker must guess it to spoof a reply). */
export function randomQueryId(): number {
  return randomInt(0, 0x10000);
}

/** Names compare case-insensitively and without a trailing dot. */
export function normalizeName(name: string): string {
  return name.replace(/\.+$/, '').toLowerCase();
}

/** A recursive query for one name and type. */
export function buildQuery(id: number, name: string, type: AddressRecordType): Buffer {
  return encode({
    type: 'query',
    id,
    flags: RECURSION_DESIRED,
    questions: [{ type, name, class: 'IN' }],
  });
}

/** Decode a datagram or TCP message; undefined for bytes that are not a DNS message. */
export function tryDecode(bytes: Buffer): DecodedPacket | undefined {
  try {
    return decode(bytes);
  } catch {
    return undefined;
  }
}

/** True when `packet` is a response to exactly our question under our id; anything else is ignored. */
export function isReplyTo(packet: DecodedPacket, id: number, name: string, type: AddressRecordType): boolean {
  if (packet.id !== id || packet.type !== 'response') return false;
  const questions = packet.questions ?? [];
  if (questions.length !== 1) return false;
  const q = questions[0];
  return q.type === type && (q.class ?? 'IN') === 'IN' && normalizeName(q.name) === normalizeName(name);
}

/** The 4-bit response code by name ("NOERROR", "NXDOMAIN", ...). */
export function rcodeOf(packet: DecodedPacket): string {
  const code = (packet.flags ?? 0) & 0xf;
  return RCODES[code] ?? `RCODE_${code}`;
}

/**
 * The addresses of `type` that answer `name`, following CNAME records inside the answer section
 * (seeds behind a CDN answer with CNAME then A). Records for other names are ignored.
 */
export function addressesFrom(packet: DecodedPacket, name: string, type: AddressRecordType): AddressRecord[] {
  const answers: Answer[] = packet.answers ?? [];
  const aliases = new Set([normalizeName(name)]);
  // Each pass can only add names, and there are finitely many answers, so this loop is bounded.
  for (let grew = true; grew; ) {
    grew = false;
    for (const answer of answers) {
      if (answer.type === 'CNAME' && aliases.has(normalizeName(answer.name)) && !aliases.has(normalizeName(answer.data))) {
        aliases.add(normalizeName(answer.data));
        grew = true;
      }
    }
  }
  const family = type === 'A' ? 4 : 6;
  const out: AddressRecord[] = [];
  for (const answer of answers) {
    if (answer.type !== type || !aliases.has(normalizeName(answer.name))) continue;
    if (typeof answer.data !== 'string' || isIP(answer.data) !== family) continue;
    // RFC 2181 §8: a TTL with the top bit set is treated as zero.
    const ttl = answer.ttl ?? 0;
    out.push({ address: answer.data, ttl: ttl > 0x7fffffff ? 0 : ttl });
  }
  return out;
}
