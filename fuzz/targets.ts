// The fuzz targets and their invariants. Each target takes one byte string; structure-aware
// mutators decode a seed with the project's own codecs, change a field and encode it again, so
// inputs get past checksums and length fields that random bytes almost never satisfy.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { DecodeError, EncodeError, FramingError } from '../lib/errors.js';
import { FrameDecoder } from '../lib/framing/decoder.js';
import { encodeFrame, payloadChecksum } from '../lib/framing/encoder.js';
import { isValidCommand } from '../lib/framing/header.js';
import { BlockStreamDecoder } from '../lib/block/stream-decoder.js';
import { decodeMessage, encodeMessage, messageCodecs, type Message } from '../lib/messages/index.js';
import { regtest } from '../lib/networks.js';
import { PeerProtocol, DEFAULT_TIMEOUTS, type ProtocolOutput } from '../lib/peer/protocol.js';
import { ACCEPT_ANY_UA } from '../lib/peer/user-agent.js';
import type { CloseReasonCode } from '../lib/peer/reasons.js';
import { isFinal } from '../lib/peer/state.js';
import { AllocationWatch, FuzzViolation, mutateValue, pick, type FuzzTarget, type Random } from './engine.js';

const here = dirname(fileURLToPath(import.meta.url));
const MAGIC = regtest.magic;

/** Allocation bound for decoders of whole payloads: a constant times the input, plus slack for fixed buffers. */
const ALLOC_FACTOR = 8;
const ALLOC_SLACK = 64 * 1024;
/** The frame decoder allocates a straddling payload's declared length up to 4 MiB at once (its documented eager size). */
const FRAME_EAGER = 4 * 1024 * 1024;

export const allocations = new AllocationWatch();

function checkAllocation(input: Buffer, extra = 0): void {
  const bound = ALLOC_FACTOR * input.length + ALLOC_SLACK + extra;
  if (allocations.largest > bound) {
    throw new FuzzViolation(`allocated ${allocations.largest} bytes for a ${input.length}-byte input (bound ${bound})`);
  }
}

// ---- seeds ----

function readCorpusDir(name: string): Map<string, Buffer[]> {
  const dir = join(here, 'corpus', name);
  const out = new Map<string, Buffer[]>();
  let files: string[] = [];
  try {
    files = readdirSync(dir).sort();
  } catch {
    return out;
  }
  for (const f of files) {
    const command = f.slice(0, f.lastIndexOf('-'));
    const list = out.get(command) ?? [];
    list.push(readFileSync(join(dir, f)));
    out.set(command, list);
  }
  return out;
}

const GENESIS_BLOCK = Buffer.from(
  '01000000' + '00'.repeat(32) + '3ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a' + '29ab5f49' + 'ffff001d' + '1dac2b7c' +
    '01' + '01000000' + '01' + '00'.repeat(32) + 'ffffffff' + '4d' +
    '04ffff001d0104455468652054696d65732030332f4a616e2f32303039204368616e63656c6c6f72206f6e206272696e6b206f66207365636f6e64206261696c6f757420666f722062616e6b73' +
    'ffffffff' + '01' + '00f2052a01000000' + '43' +
    '4104678afdb0fe5548271967f1a67130b7105cd6a828e03909a67962e0ea1f61deb649f6bc3f4cef38c4f35504e51ec112de5c384df7ba0b8d578a4c702b6bf11d5fac' +
    '00000000',
  'hex',
);

const addr = { services: 1n, ip: Buffer.from('00000000000000000000ffff7f000001', 'hex'), port: 18444 };
/** Messages the peer tests exchange, as seeds for the frame and protocol targets and codecs without dumped samples. */
const baseMessages: Message[] = [
  { command: 'version', version: 70016, services: 1n, timestamp: 1_700_000_000n, addrRecv: addr, addrFrom: addr, nonce: 7n, userAgent: '/fuzz:1/', startHeight: 0, relay: true },
  { command: 'verack' },
  { command: 'ping', nonce: 1n },
  { command: 'pong', nonce: 1n },
  { command: 'sendheaders' },
  { command: 'getaddr' },
  { command: 'inv', inventory: [{ type: 1, hash: Buffer.alloc(32, 1) }, { type: 2, hash: Buffer.alloc(32, 2) }] },
  { command: 'headers', headers: [{ version: 1, prevBlock: Buffer.alloc(32), merkleRoot: Buffer.alloc(32, 3), timestamp: 1, bits: 0x207fffff, nonce: 0, txCount: 0 }] },
  { command: 'addr', addresses: [{ time: 1, ...addr }] },
  { command: 'protoconf', numberOfFields: 2, maxRecvPayloadLength: 2_097_152, streamPolicies: 'Default' },
  { command: 'unknown', name: 'madeup', payload: Buffer.from('hello') },
] as Message[];

let seedCache: Map<string, Buffer[]> | undefined;
function messageSeeds(): Map<string, Buffer[]> {
  if (seedCache) return seedCache;
  const seeds = readCorpusDir('codecs');
  seedCache = seeds;
  for (const m of baseMessages) {
    const { command, payload } = encodeMessage(m);
    const list = seeds.get(command) ?? [];
    list.push(payload);
    seeds.set(command, list);
  }
  seeds.set('block', [...(seeds.get('block') ?? []), GENESIS_BLOCK]);
  return seeds;
}

// ---- codecs ----

const commands = [...messageCodecs.keys()].sort();
/** The codec target's first byte picks the command: the 38 codecs, then 'unknown'. */
const selectable = [...commands, 'notacommand'];

/** decode, and for whatever decodes: encode, decode again, same value. */
function checkCodecInput(command: string, payload: Buffer): void {
  let message: Message;
  allocations.largest = 0;
  try {
    message = decodeMessage(command, payload);
  } catch (err) {
    if (err instanceof DecodeError) {
      checkAllocation(payload);
      return;
    }
    throw err;
  }
  checkAllocation(payload);
  let again: Buffer;
  try {
    again = encodeMessage(message).payload;
  } catch (err) {
    throw new FuzzViolation(`${command}: decoded value does not encode: ${(err as Error).message}`);
  }
  let redecoded: Message;
  try {
    redecoded = decodeMessage(command, again);
  } catch (err) {
    throw new FuzzViolation(`${command}: re-encoded bytes do not decode: ${(err as Error).message}`);
  }
  if (!isDeepStrictEqual(redecoded, message)) throw new FuzzViolation(`${command}: decode(encode(decode(x))) != decode(x)`);
}

/** Decode, change one field, encode (or undefined when the mutated value does not encode). */
function mutateMessage(command: string, payload: Buffer, rnd: Random): Buffer | undefined {
  try {
    const message = decodeMessage(command, payload);
    const changed = mutateValue(message, rnd) as Message;
    return encodeMessage(changed).payload;
  } catch {
    return undefined;
  }
}

export function codecTarget(command: string, name = `codec:${command}`): FuzzTarget {
  return {
    name,
    maxInputLength: 16 * 1024,
    seeds: () => [Buffer.alloc(0), ...(messageSeeds().get(command) ?? [])],
    run: (input) => checkCodecInput(command, input),
    mutate: (input, rnd) => mutateMessage(command, input, rnd),
  };
}

export const codecsTarget: FuzzTarget = {
  name: 'codecs',
  maxInputLength: 16 * 1024,
  seeds() {
    const seeds = messageSeeds();
    const out: Buffer[] = [];
    selectable.forEach((command, i) => {
      for (const p of [Buffer.alloc(0), ...(seeds.get(command) ?? [])]) out.push(Buffer.concat([Buffer.from([i]), p]));
    });
    return out;
  },
  run(input) {
    if (!input.length) return;
    checkCodecInput(selectable[input[0]! % selectable.length]!, input.subarray(1));
  },
  mutate(input, rnd) {
    if (!input.length) return undefined;
    const command = selectable[input[0]! % selectable.length]!;
    const payload = mutateMessage(command, input.subarray(1), rnd);
    return payload && Buffer.concat([input.subarray(0, 1), payload]);
  },
};

// ---- frames ----

/** Whole frames from a byte stream, or undefined past the first one that does not parse. */
function splitFrames(bytes: Buffer): { command: string; payload: Buffer }[] {
  const frames: { command: string; payload: Buffer }[] = [];
  try {
    const d = new FrameDecoder({ magic: MAGIC, verifyChecksum: false, shouldStream: () => false });
    for (const e of d.push(bytes)) if (e.type === 'frame') frames.push({ command: e.header.command, payload: e.payload });
  } catch {
    /* the frames before the bad one */
  }
  return frames;
}

/**
 * The frame target: byte 0 picks the chunking (sizes from a small generator) and the options;
 * the rest is the byte stream. Checked: only FramingError escapes, and after it every push throws
 * it again; each frame's payload has its header's length and re-encodes to the bytes that carried it.
 */
export const frameTarget: FuzzTarget = {
  name: 'frame',
  maxInputLength: 64 * 1024,
  seeds() {
    const out: Buffer[] = [];
    const all: Buffer[] = [];
    for (const [command, payloads] of messageSeeds()) {
      if (command === 'notacommand') continue;
      for (const p of payloads.slice(0, 2)) {
        const f = encodeFrame(MAGIC, command, p);
        all.push(f);
        out.push(Buffer.concat([Buffer.from([out.length & 0xff]), f]));
      }
    }
    out.push(Buffer.concat([Buffer.from([3]), ...all.slice(0, 20)]));
    out.push(Buffer.concat([Buffer.from([0x80]), encodeFrame(MAGIC, 'ping', Buffer.alloc(8), { peerVersion: 70016, forceExtended: true })]));
    return out;
  },
  run(input) {
    if (!input.length) return;
    const control = input[0]!;
    const bytes = input.subarray(1);
    const decoder = new FrameDecoder({
      magic: MAGIC,
      badChecksum: control & 0x40 ? 'drop' : 'fail',
      limits: control & 0x20 ? { default: 1000, block: 5000 } : undefined,
      shouldStream: control & 0x10 ? () => true : undefined,
    });
    allocations.largest = 0;
    let step = 1 + (control & 0x0f) * 7;
    let streamed = 0;
    for (let off = 0; off < bytes.length; ) {
      const chunk = bytes.subarray(off, off + step);
      off += chunk.length;
      step = ((step * 31 + 7) % 97) + 1;
      let events;
      try {
        events = decoder.push(chunk);
      } catch (err) {
        if (!(err instanceof FramingError)) throw err;
        try {
          decoder.push(Buffer.alloc(1));
        } catch (again) {
          if (again !== err) throw new FuzzViolation('a failed decoder threw a different error on the next push');
          break;
        }
        throw new FuzzViolation('a failed decoder accepted more input');
      }
      for (const e of events) {
        if (e.type === 'frame') {
          if (e.payload.length !== e.header.length) throw new FuzzViolation(`frame payload ${e.payload.length} != header length ${e.header.length}`);
          if (!e.header.extended && !payloadChecksum(e.payload).equals(e.header.checksum)) {
            throw new FuzzViolation('a frame passed with a wrong checksum');
          }
          // The decoder accepts what the node's CheckCommandFormat accepts, the empty command
          // included (found by this target); the encoder refuses to send it, on purpose.
          if (!e.header.extended && isValidCommand(e.header.command)) {
            const wire = encodeFrame(MAGIC, e.header.command, e.payload);
            if (!wire.subarray(24).equals(e.payload)) throw new FuzzViolation('a frame does not re-encode');
          }
        } else if (e.type === 'stream-start') streamed = 0;
        else if (e.type === 'stream-data') streamed += e.chunk.length;
        else if (e.type === 'stream-end' && streamed !== e.header.length) throw new FuzzViolation(`streamed ${streamed} of ${e.header.length}`);
      }
      if (decoder.bytesBuffered > FRAME_EAGER + 44) throw new FuzzViolation(`decoder holds ${decoder.bytesBuffered} bytes`);
    }
    checkAllocation(bytes, FRAME_EAGER);
  },
  mutate(input, rnd) {
    // Decode the frames, change one message (or its command), encode with a right checksum.
    const frames = splitFrames(input.subarray(1));
    if (!frames.length) return undefined;
    const i = Math.floor(rnd() * frames.length);
    const f = frames[i]!;
    const r = rnd();
    if (r < 0.1) f.command = pick(rnd, selectable);
    else if (r < 0.2) frames.splice(i, 0, { ...f });
    else f.payload = mutateMessage(f.command, f.payload, rnd) ?? f.payload;
    try {
      return Buffer.concat([input.subarray(0, 1), ...frames.map((x) => encodeFrame(MAGIC, x.command, x.payload, { peerVersion: 70016 }))]);
    } catch {
      return undefined;
    }
  },
};

// ---- streamed blocks ----

/**
 * The block target: byte 0 picks the chunk sizes and huge-tx threshold; the rest is a block
 * payload. Only DecodeError may escape; transactions are emitted in order, their bytes
 * concatenate back to the payload, and end() summarises what was emitted.
 */
export const blockTarget: FuzzTarget = {
  name: 'block',
  maxInputLength: 64 * 1024,
  seeds: () => [...(messageSeeds().get('block') ?? []), ...(messageSeeds().get('cmpctblock') ?? []).slice(0, 0)].map((b) => Buffer.concat([Buffer.from([0]), b])),
  run(input) {
    if (!input.length) return;
    const control = input[0]!;
    const payload = input.subarray(1);
    const pieces: Buffer[] = [];
    let headerBytes = 0;
    let expectIndex = 0;
    let txCount = -1;
    const decoder = new BlockStreamDecoder({
      payloadLength: payload.length,
      hugeTxThreshold: control & 0x80 ? 200 : undefined,
      verifyMerkleRoot: (control & 0x40) !== 0,
      onHeader: (s) => {
        txCount = s.txCount;
        headerBytes = 80;
      },
      onTransaction: (tx) => {
        if (tx.index !== expectIndex++) throw new FuzzViolation(`tx index ${tx.index}, expected ${expectIndex - 1}`);
        pieces.push(Buffer.from(tx.raw));
      },
      onTransactionStart: (s) => {
        if (s.index !== expectIndex) throw new FuzzViolation(`huge tx index ${s.index}, expected ${expectIndex}`);
      },
      onTransactionPiece: (p) => pieces.push(Buffer.from(p.bytes)),
      onTransactionEnd: (e) => {
        if (e.index !== expectIndex++) throw new FuzzViolation('huge tx end out of order');
      },
    });
    allocations.largest = 0;
    let step = 1 + (control & 0x3f) * 5;
    try {
      for (let off = 0; off < payload.length; ) {
        const chunk = payload.subarray(off, off + step);
        off += chunk.length;
        step = ((step * 17 + 3) % 211) + 1;
        decoder.push(chunk);
      }
      const summary = decoder.end();
      if (summary.txCount !== txCount || expectIndex !== txCount) throw new FuzzViolation(`summary says ${summary.txCount} txs, ${expectIndex} emitted`);
      const countLength = payload.length - headerBytes - pieces.reduce((n, p) => n + p.length, 0);
      const txBytes = Buffer.concat(pieces);
      if (!payload.subarray(payload.length - txBytes.length).equals(txBytes) || countLength < 1 || countLength > 9) {
        throw new FuzzViolation('emitted transactions do not concatenate back to the payload');
      }
    } catch (err) {
      if (!(err instanceof DecodeError)) throw err;
    }
    checkAllocation(payload);
  },
  mutate(input, rnd) {
    // Decode header and txs, change one tx (through the tx codec) or the count, rebuild.
    const payload = input.subarray(1);
    const txs: Buffer[] = [];
    let header: Buffer | undefined;
    try {
      const d = new BlockStreamDecoder({ payloadLength: payload.length, onTransaction: (tx) => txs.push(Buffer.from(tx.raw)) });
      d.push(payload);
      d.end();
      header = payload.subarray(0, 80);
    } catch {
      return undefined;
    }
    const r = rnd();
    if (r < 0.3 && txs.length) txs.push(txs[Math.floor(rnd() * txs.length)]!);
    else if (r < 0.4 && txs.length > 1) txs.splice(Math.floor(rnd() * txs.length), 1);
    else if (txs.length) {
      const i = Math.floor(rnd() * txs.length);
      txs[i] = mutateMessage('tx', txs[i]!, rnd) ?? txs[i]!;
    }
    const n = txs.length;
    const cs = n < 0xfd ? Buffer.from([n]) : Buffer.from([0xfd, n & 0xff, n >> 8]);
    return Buffer.concat([input.subarray(0, 1), header, cs, ...txs]);
  },
};

// ---- the peer protocol state machine ----

const KNOWN_CLOSES: ReadonlySet<CloseReasonCode> = new Set([
  'local', 'remote-closed', 'socket-error', 'handshake-timeout', 'ping-timeout', 'inactivity', 'bad-magic', 'protocol-violation',
  'obsolete-version', 'missing-services', 'user-agent-rejected', 'self-connection', 'duplicate-version', 'over-capacity',
  'send-buffer-overflow', 'banned',
]);
const framingReasons = ['bad-magic', 'bad-command', 'oversized', 'bad-checksum', 'extmsg-not-allowed', 'bad-extmsg'] as const;

/**
 * The protocol target: the input is a program of steps under fake time. Each step's first byte
 * picks: a message from the seed pool (maybe field-mutated), a payload decoded for a command (a
 * DecodeError becomes protocolError), a framing error, time passing then tick(), ping(), close().
 * Checked: nothing is sent after the close, exactly one typed close at most, the final state
 * after it, every message sent encodes within the peer's announced limit, and the score stays
 * under the ban threshold unless a ban was emitted.
 */
export const protocolTarget: FuzzTarget = {
  name: 'protocol',
  maxInputLength: 4096,
  seeds() {
    const out: Buffer[] = [];
    // handshake (version, verack), then each base message; direction and pre-steps vary.
    for (let i = 0; i < baseMessages.length; i++) out.push(Buffer.from([i & 1, 0, 0, 0, 1, 0, 0, i, 0, 3, 200, 0, 5, 0]));
    out.push(Buffer.from([1, 3, 250, 3, 250, 3, 250, 3, 250]));
    out.push(Buffer.from([0, 0, 0, 0, 1, 0, 0, 9, 0, 1, 6, 1, 2, 3, 4, 5, 6, 4, 0]));
    return out;
  },
  run(input) {
    if (!input.length) return;
    let now = 1_000_000;
    let nonceCounter = 100n;
    const protocol = new PeerProtocol({
      network: regtest,
      direction: input[0]! & 1 ? 'outbound' : 'inbound',
      local: { protocolVersion: 70016, services: 1n, userAgent: '/bsv-wire-fuzz/', startHeight: 0, relay: true },
      minPeerVersion: 31800,
      requiredServices: input[0]! & 2 ? 1n : 0n,
      userAgentPolicy: ACCEPT_ANY_UA,
      maxRecvPayloadLength: 2_097_152,
      timeouts: DEFAULT_TIMEOUTS,
      clock: { now: () => now },
      nonce: () => nonceCounter++,
      selfNonces: new Set(),
      admit: () => (input[0]! & 4) === 0,
      banThreshold: 100,
    });
    let closed = false;
    let banned = false;
    const check = (outputs: ProtocolOutput[]): void => {
      for (const o of outputs) {
        if (o.type === 'send') {
          if (closed) throw new FuzzViolation(`sent ${o.message.command} after the close`);
          const { payload } = encodeMessage(o.message);
          if (o.message.command !== 'protoconf' && payload.length > Math.max(protocol.remote.maxRecvPayloadLength, 1_048_576)) {
            throw new FuzzViolation(`sent ${payload.length} bytes over the peer's limit`);
          }
        } else if (o.type === 'close') {
          if (closed) throw new FuzzViolation('closed twice');
          if (!KNOWN_CLOSES.has(o.reason.code)) throw new FuzzViolation(`untyped close ${o.reason.code}`);
          closed = true;
        } else if (closed && o.type !== 'state') throw new FuzzViolation(`${o.type} after the close`);
        else if (o.type === 'ban') banned = true;
        else if (closed && o.type !== 'state') throw new FuzzViolation(`${o.type} after the close`);
      }
      if (closed && !isFinal(protocol.state)) throw new FuzzViolation(`closed but state ${protocol.state}`);
      if (!banned && protocol.score >= 100 && !closed) throw new FuzzViolation(`score ${protocol.score} and still open`);
    };
    check(protocol.start());
    const seeds = messageSeeds();
    let sentPingNonce = 0n;
    let p = 1;
    const byte = (): number => (p < input.length ? input[p++]! : 0);
    for (let steps = 0; p < input.length && steps < 200; steps++) {
      const op = byte() % 8;
      try {
        switch (op) {
          case 0: {
            // A message from the pool, its nonce echoed for pongs.
            let m = baseMessages[byte() % baseMessages.length]!;
            if (m.command === 'pong') m = { command: 'pong', nonce: sentPingNonce };
            check(protocol.receive(m));
            break;
          }
          case 1: {
            // A payload for a command: seed bytes with a few bytes of the input spliced in.
            const command = selectable[byte() % selectable.length]!;
            const pool = seeds.get(command) ?? [Buffer.alloc(0)];
            const base = pool[byte() % pool.length]!;
            const n = byte() % 8;
            const patch = input.subarray(p, p + n);
            p += n;
            const payload = Buffer.concat([base.subarray(0, byte() % (base.length + 1)), patch, base.subarray(base.length - (byte() % (base.length + 1)))]);
            let message: Message;
            try {
              message = decodeMessage(command, payload);
            } catch (err) {
              if (!(err instanceof DecodeError)) throw err;
              check(protocol.protocolError(err));
              break;
            }
            check(protocol.receive(message));
            break;
          }
          case 2:
            check(protocol.protocolError(new FramingError('fuzz', framingReasons[byte() % framingReasons.length]!)));
            break;
          case 3:
            now += byte() * 10_000 + byte() * 1000;
            check(protocol.tick());
            break;
          case 4: {
            const r = protocol.ping();
            sentPingNonce = r.nonce;
            check(r.outputs);
            break;
          }
          case 5: {
            // A field-mutated pool message, as it would arrive: only if it encodes and decodes.
            const m = mutateValue(baseMessages[byte() % baseMessages.length]!, () => byte() / 256) as Message;
            const { command, payload } = encodeMessage(m);
            let decoded: Message;
            try {
              decoded = decodeMessage(command, payload);
            } catch (err) {
              if (!(err instanceof DecodeError)) throw err;
              check(protocol.protocolError(err));
              break;
            }
            check(protocol.receive(decoded));
            break;
          }
          case 6:
            if (byte() < 16) check(protocol.close('local', 'fuzz'));
            break;
          default:
            protocol.noteSent();
        }
      } catch (err) {
        if (err instanceof FuzzViolation) throw err;
        // Values a mutated message holds may not be encodable; the state machine must not care.
        if (err instanceof EncodeError) continue;
        throw err;
      }
    }
    // Whatever happened, closing ends it with a typed reason.
    check(protocol.close('local', 'end of input'));
    if (!closed && !isFinal(protocol.state)) throw new FuzzViolation('close() did not close');
  },
};

export const mainTargets: readonly FuzzTarget[] = [frameTarget, codecsTarget, blockTarget, protocolTarget];

export function targetByName(name: string): FuzzTarget | undefined {
  if (name.startsWith('codec:')) {
    const command = name.slice(6);
    return command === 'unknown' || messageCodecs.has(command) ? (command === 'unknown' ? codecTarget('notacommand', 'codec:unknown') : codecTarget(command)) : undefined;
  }
  return mainTargets.find((t) => t.name === name);
}

export const codecCommands: readonly string[] = commands;
