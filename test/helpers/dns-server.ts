// A real DNS server on loopback for tests: dns-packet over dgram (UDP) and net (TCP) on one port,
// answering from a zone the test sets, with modes that misbehave the ways resolvers do.
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import { decode, encode, AUTHORITATIVE_ANSWER, RECURSION_DESIRED, RECURSION_AVAILABLE, TRUNCATED_RESPONSE, type Answer, type DecodedPacket, type Packet } from 'dns-packet';

/**
 * How the server treats queries for a name:
 * - 'answer': NOERROR with the entry's records (none of the asked type: an empty NOERROR)
 * - 'nxdomain' / 'servfail' / 'refused': that rcode, no answers
 * - 'truncate': over UDP, TC bit set and no answers; over TCP, the full answer
 * - 'wrong-id-first': a reply under another id (with a decoy address), then the right reply
 * - 'wrong-question-first': a reply under the right id for another name (decoy), then the right reply
 * - 'garbage-first': random bytes, then a header with the right id that cannot decode, then the right reply
 * - 'silent': never answer, over UDP or TCP
 */
export type TestDnsMode = 'answer' | 'nxdomain' | 'servfail' | 'refused' | 'truncate' | 'wrong-id-first' | 'wrong-question-first' | 'garbage-first' | 'silent';

export interface TestZoneEntry {
  readonly a?: readonly string[];
  readonly aaaa?: readonly string[];
  /** Seconds; default 60. */
  readonly ttl?: number;
  /** Default 'answer'. */
  readonly mode?: TestDnsMode;
  /** A mode for one query type only, overriding `mode` (e.g. answer A but stay silent on AAAA). */
  readonly modeByType?: Readonly<Partial<Record<'A' | 'AAAA', TestDnsMode>>>;
  /** Answer with a CNAME to this name first, then the records under the target name. */
  readonly cnameTo?: string;
}

export interface ReceivedQuery {
  readonly transport: 'udp' | 'tcp';
  readonly id: number;
  readonly name: string;
  readonly type: string;
  /** "address:port" of the client. */
  readonly from: string;
}

export interface TestDnsServerOptions {
  readonly zone?: Readonly<Record<string, TestZoneEntry>>;
  /** Default 127.0.0.1. Must be a loopback address. */
  readonly host?: string;
}

/** An address the misbehaving modes put in decoy replies; a correct client never returns it. */
export const DECOY_ADDRESS = '127.66.66.66';

const normalize = (name: string): string => name.replace(/\.+$/, '').toLowerCase();

export class TestDnsServer {
  /** Every query received, in arrival order, including ones that were not answered. */
  readonly queries: ReceivedQuery[] = [];
  /** Datagrams or TCP messages that did not decode as DNS queries. */
  undecodable = 0;
  private readonly zone = new Map<string, TestZoneEntry>();
  private readonly tcpClients = new Set<Socket>();

  private constructor(
    readonly host: string,
    readonly port: number,
    private readonly udp: UdpSocket,
    private readonly tcp: Server,
    zone: Readonly<Record<string, TestZoneEntry>>,
  ) {
    for (const [name, entry] of Object.entries(zone)) this.set(name, entry);
    udp.on('message', (bytes, rinfo) => this.onUdp(bytes, rinfo.address, rinfo.port));
    tcp.on('connection', (socket) => this.onTcp(socket));
  }

  /** Bind UDP and TCP on the same free port of `host` (port 0, retried if TCP finds it taken). */
  static async start(opts: TestDnsServerOptions = {}): Promise<TestDnsServer> {
    const host = opts.host ?? '127.0.0.1';
    for (let tries = 0; tries < 20; tries++) {
      const udp = createSocket(host.includes(':') ? 'udp6' : 'udp4');
      const port = await new Promise<number>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind(0, host, () => resolve(udp.address().port));
      });
      const tcp = createServer();
      const listening = await new Promise<boolean>((resolve) => {
        tcp.once('error', () => resolve(false));
        tcp.listen(port, host, () => resolve(true));
      });
      if (listening) return new TestDnsServer(host, port, udp, tcp, opts.zone ?? {});
      udp.close();
    }
    throw new Error('no port free for both UDP and TCP on ' + host);
  }

  /** The {host, port} to give to the resolver under test. */
  get address(): { host: string; port: number } {
    return { host: this.host, port: this.port };
  }

  set(name: string, entry: TestZoneEntry): void {
    this.zone.set(normalize(name), entry);
  }

  delete(name: string): void {
    this.zone.delete(normalize(name));
  }

  udpQueries(): ReceivedQuery[] {
    return this.queries.filter((q) => q.transport === 'udp');
  }

  tcpQueries(): ReceivedQuery[] {
    return this.queries.filter((q) => q.transport === 'tcp');
  }

  queriesFor(name: string, type?: string): ReceivedQuery[] {
    return this.queries.filter((q) => normalize(q.name) === normalize(name) && (type === undefined || q.type === type));
  }

  async close(): Promise<void> {
    for (const socket of this.tcpClients) socket.destroy();
    await Promise.all([
      new Promise<void>((resolve) => this.udp.close(() => resolve())),
      new Promise<void>((resolve) => this.tcp.close(() => resolve())),
    ]);
  }

  private parse(bytes: Buffer, transport: 'udp' | 'tcp', from: string): DecodedPacket | undefined {
    let query: DecodedPacket;
    try {
      query = decode(bytes);
    } catch {
      this.undecodable++;
      return undefined;
    }
    const q = query.questions?.[0];
    if (query.type !== 'query' || q === undefined) {
      this.undecodable++;
      return undefined;
    }
    this.queries.push({ transport, id: query.id ?? 0, name: q.name, type: q.type, from });
    return query;
  }

  /** The replies to send, in order, for one query over one transport. */
  private replies(query: DecodedPacket, transport: 'udp' | 'tcp'): Buffer[] {
    const q = query.questions![0];
    const id = query.id ?? 0;
    const entry = this.zone.get(normalize(q.name));
    const byType = q.type === 'A' || q.type === 'AAAA' ? entry?.modeByType?.[q.type] : undefined;
    const mode: TestDnsMode = byType ?? entry?.mode ?? (entry ? 'answer' : 'nxdomain');
    const header = { type: 'response' as const, id, questions: [q] };
    const flags = AUTHORITATIVE_ANSWER | RECURSION_AVAILABLE | ((query.flags ?? 0) & RECURSION_DESIRED);
    const withRcode = (rcode: number): Buffer => encode({ ...header, flags: flags | rcode });
    const full = (): Buffer => encode({ ...header, flags, answers: entry ? answersFor(q.name, q.type, entry) : [] });
    const decoy = (packet: Packet): Buffer => encode({ ...packet, type: 'response', flags, answers: [{ type: 'A', name: packet.questions![0].name, ttl: 60, data: DECOY_ADDRESS }] });
    switch (mode) {
      case 'silent':
        return [];
      case 'nxdomain':
        return [withRcode(3)];
      case 'servfail':
        return [withRcode(2)];
      case 'refused':
        return [withRcode(5)];
      case 'answer':
        return [full()];
      case 'truncate':
        return transport === 'udp' ? [encode({ ...header, flags: flags | TRUNCATED_RESPONSE })] : [full()];
      case 'wrong-id-first':
        return [decoy({ id: (id + 1 + (randomBytes(2).readUInt16BE(0) % 0xfffe)) & 0xffff, questions: [q] }), full()];
      case 'wrong-question-first':
        return [decoy({ id, questions: [{ ...q, name: `not-${q.name}` }] }), full()];
      case 'garbage-first': {
        // 7 bytes cannot hold a DNS header; the second claims 65535 questions it does not carry.
        const lying = Buffer.alloc(12);
        lying.writeUInt16BE(id, 0);
        lying.writeUInt16BE(0x8180, 2);
        lying.writeUInt16BE(0xffff, 4);
        return [randomBytes(7), lying, full()];
      }
    }
  }

  private onUdp(bytes: Buffer, address: string, port: number): void {
    const query = this.parse(bytes, 'udp', `${address}:${port}`);
    if (!query) return;
    for (const reply of this.replies(query, 'udp')) this.udp.send(reply, port, address);
  }

  private onTcp(socket: Socket): void {
    this.tcpClients.add(socket);
    socket.on('close', () => this.tcpClients.delete(socket));
    socket.on('error', () => socket.destroy());
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
        const length = pending.readUInt16BE(0);
        const message = pending.subarray(2, 2 + length);
        pending = pending.subarray(2 + length);
        const query = this.parse(message, 'tcp', `${socket.remoteAddress}:${socket.remotePort}`);
        if (!query) continue;
        for (const reply of this.replies(query, 'tcp')) {
          const prefix = Buffer.alloc(2);
          prefix.writeUInt16BE(reply.length);
          socket.write(Buffer.concat([prefix, reply]));
        }
      }
    });
  }
}

function answersFor(name: string, type: string, entry: TestZoneEntry): Answer[] {
  const ttl = entry.ttl ?? 60;
  const out: Answer[] = [];
  let owner = name;
  if (entry.cnameTo !== undefined) {
    out.push({ type: 'CNAME', name, ttl, data: entry.cnameTo });
    owner = entry.cnameTo;
  }
  if (type === 'A') for (const data of entry.a ?? []) out.push({ type: 'A', name: owner, ttl, data });
  if (type === 'AAAA') for (const data of entry.aaaa ?? []) out.push({ type: 'AAAA', name: owner, ttl, data });
  return out;
}
