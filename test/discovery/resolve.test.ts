import t from 'tap';
import { createSocket } from 'node:dgram';
import { resolveSeed, DiscoveryError, type ResolveOptions } from '../../lib/discovery/index.js';
import { TestDnsServer, DECOY_ADDRESS, type TestZoneEntry } from '../helpers/dns-server.js';

// Answers arrive in milliseconds; the generous timeout only matters on a loaded machine.
// Tests of silence set their own short timeouts.
const fast = { timeoutMs: 2000, retries: 2, backoff: { minMs: 10, maxMs: 40 } } as const;

async function withServer(zone: Record<string, TestZoneEntry>, fn: (dns: TestDnsServer, opts: ResolveOptions) => Promise<void>): Promise<void> {
  const dns = await TestDnsServer.start({ zone });
  try {
    await fn(dns, { ...fast, servers: [dns.address] });
  } finally {
    await dns.close();
  }
}

t.test('A answers: loopback addresses with their TTL and the answering server', async (t) => {
  await withServer({ 'seed.test': { a: ['127.0.0.2', '127.0.0.3'], ttl: 321 } }, async (dns, opts) => {
    const r = await resolveSeed('seed.test', { ...opts, types: ['A'] });
    t.equal(r.rcode, 'NOERROR');
    t.same(
      r.addresses.map((a) => [a.address, a.family, a.type, a.ttl, a.transport]),
      [
        ['127.0.0.2', 4, 'A', 321, 'udp'],
        ['127.0.0.3', 4, 'A', 321, 'udp'],
      ],
    );
    t.same(r.addresses[0].server, dns.address, 'records say which resolver answered');
    t.equal(r.answers[0].attempts, 1);
    t.same(r.failures, []);
    t.equal(dns.udpQueries().length, 1);
    t.equal(dns.tcpQueries().length, 0);
  });
});

t.test('A and AAAA are both asked by default; AAAA gives ::1', async (t) => {
  await withServer({ 'seed.test': { a: ['127.0.0.4'], aaaa: ['::1'], ttl: 77 } }, async (dns, opts) => {
    const r = await resolveSeed('SEED.test.', opts);
    t.same(
      r.addresses.map((a) => [a.address, a.family, a.ttl]),
      [
        ['127.0.0.4', 4, 77],
        ['::1', 6, 77],
      ],
    );
    t.same(dns.queries.map((q) => q.type).sort(), ['A', 'AAAA']);
  });
});

t.test('a name with only A records answers AAAA with an empty NOERROR', async (t) => {
  await withServer({ 'seed.test': { a: ['127.0.0.5'] } }, async (_dns, opts) => {
    const r = await resolveSeed('seed.test', opts);
    t.same(r.addresses.map((a) => a.address), ['127.0.0.5']);
    t.same(r.answers.map((a) => [a.type, a.rcode, a.addresses.length]), [
      ['A', 'NOERROR', 1],
      ['AAAA', 'NOERROR', 0],
    ]);
  });
});

t.test('NXDOMAIN is an empty result with its rcode, not an error, and is not retried', async (t) => {
  await withServer({}, async (dns, opts) => {
    const r = await resolveSeed('missing.test', opts);
    t.equal(r.rcode, 'NXDOMAIN');
    t.same(r.addresses, []);
    t.same(r.answers.map((a) => a.rcode), ['NXDOMAIN', 'NXDOMAIN']);
    t.equal(dns.queries.length, 2, 'one query per type, no retry');
  });
});

t.test('a truncated UDP reply sends the same question over TCP', async (t) => {
  await withServer({ 'big.test': { a: ['127.0.0.6', '127.0.0.7'], ttl: 30, mode: 'truncate' } }, async (dns, opts) => {
    const r = await resolveSeed('big.test', { ...opts, types: ['A'] });
    t.same(r.addresses.map((a) => a.address), ['127.0.0.6', '127.0.0.7']);
    t.equal(r.answers[0].transport, 'tcp');
    t.equal(r.addresses[0].transport, 'tcp');
    t.equal(dns.udpQueries().length, 1);
    t.equal(dns.tcpQueries().length, 1, 'the server saw the TCP query');
    t.equal(dns.tcpQueries()[0].id, dns.udpQueries()[0].id, 'TCP repeats the UDP query');
  });
});

t.test('a reply under a wrong query id is ignored, the right one is taken', async (t) => {
  await withServer({ 'seed.test': { a: ['127.0.0.8'], mode: 'wrong-id-first' } }, async (dns, opts) => {
    const r = await resolveSeed('seed.test', { ...opts, types: ['A'] });
    t.same(r.addresses.map((a) => a.address), ['127.0.0.8']);
    t.notOk(r.addresses.some((a) => a.address === DECOY_ADDRESS), 'the decoy never gets through');
    t.equal(r.answers[0].ignored.mismatched, 1);
    t.equal(r.answers[0].attempts, 1, 'the wrong reply did not end the attempt');
    t.equal(dns.queries.length, 1);
  });
});

t.test('a reply for another question under the right id is ignored', async (t) => {
  await withServer({ 'seed.test': { a: ['127.0.0.9'], mode: 'wrong-question-first' } }, async (_dns, opts) => {
    const r = await resolveSeed('seed.test', { ...opts, types: ['A'] });
    t.same(r.addresses.map((a) => a.address), ['127.0.0.9']);
    t.equal(r.answers[0].ignored.mismatched, 1);
  });
});

t.test('garbage bytes are ignored, even a header with the right id that cannot decode', async (t) => {
  await withServer({ 'seed.test': { a: ['127.0.0.10'], aaaa: ['::1'], mode: 'garbage-first' } }, async (_dns, opts) => {
    const r = await resolveSeed('seed.test', opts);
    t.same(r.addresses.map((a) => a.address), ['127.0.0.10', '::1']);
    for (const answer of r.answers) {
      t.equal(answer.ignored.undecodable, 2, `${answer.type}: both garbage packets counted`);
      t.equal(answer.attempts, 1);
    }
  });
});

t.test('CNAME chains inside the answer are followed', async (t) => {
  await withServer({ 'seed.test': { a: ['127.0.0.11'], cnameTo: 'nodes.cdn.test' } }, async (_dns, opts) => {
    const r = await resolveSeed('seed.test', { ...opts, types: ['A'] });
    t.same(r.addresses.map((a) => a.address), ['127.0.0.11']);
  });
});

t.test('no answer at all: a timeout error after exactly retries + 1 attempts, in bounded time', async (t) => {
  await withServer({ 'quiet.test': { a: ['127.0.0.12'], mode: 'silent' } }, async (dns, opts) => {
    const started = performance.now();
    const error = await resolveSeed('quiet.test', { ...opts, types: ['A'], timeoutMs: 200, retries: 2 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    const elapsed = performance.now() - started;
    t.type(error, DiscoveryError);
    t.equal((error as DiscoveryError).code, 'timeout');
    t.equal((error as DiscoveryError).queryName, 'quiet.test');
    t.ok((error as DiscoveryError).transient);
    t.equal(dns.udpQueries().length, 3, 'first attempt plus 2 retries');
    t.ok(new Set(dns.queries.map((q) => q.id)).size > 1, 'each attempt uses a fresh random id');
    // Correctness of the bound, not speed: 3 waits of 200 ms happened, and the backoff is capped.
    t.ok(elapsed >= 3 * 200 - 5, `waited every timeout (${elapsed.toFixed(0)} ms)`);
    t.ok(elapsed < 3 * 200 + 2 * 80 + 3000, `stopped within the bound (${elapsed.toFixed(0)} ms)`);
  });
});

t.test('retries move on to the next resolver', async (t) => {
  const quiet = await TestDnsServer.start({ zone: { 'seed.test': { a: ['127.0.0.13'], mode: 'silent' } } });
  const good = await TestDnsServer.start({ zone: { 'seed.test': { a: ['127.0.0.14'] } } });
  t.teardown(() => Promise.all([quiet.close(), good.close()]));
  const r = await resolveSeed('seed.test', { ...fast, timeoutMs: 1000, types: ['A'], servers: [quiet.address, good.address] });
  t.same(r.addresses.map((a) => a.address), ['127.0.0.14']);
  t.same(r.answers[0].server, good.address);
  t.equal(r.answers[0].attempts, 2);
  t.equal(quiet.queries.length, 1);
  t.equal(good.queries.length, 1);
});

t.test('SERVFAIL is retried, then reported with its rcode', async (t) => {
  await withServer({ 'broken.test': { mode: 'servfail' } }, async (dns, opts) => {
    const error = (await resolveSeed('broken.test', { ...opts, types: ['A'], retries: 1 }).catch((e: unknown) => e)) as DiscoveryError;
    t.type(error, DiscoveryError);
    t.equal(error.code, 'servfail');
    t.equal(error.rcode, 'SERVFAIL');
    t.equal(dns.queries.length, 2);
  });
});

t.test('a type that fails is reported beside the other type\'s answer; all failing throws', async (t) => {
  await withServer(
    {
      'half.test': { a: ['127.0.0.15'], aaaa: ['::1'], modeByType: { AAAA: 'silent' } },
      'quiet.test': { a: ['127.0.0.16'], mode: 'silent' },
    },
    async (dns, opts) => {
      const r = await resolveSeed('half.test', { ...opts, timeoutMs: 400, retries: 1 });
      t.same(r.addresses.map((a) => a.address), ['127.0.0.15']);
      t.same(r.answers.map((a) => a.type), ['A']);
      t.same(r.failures.map((f) => [f.type, f.error.code]), [['AAAA', 'timeout']]);
      t.equal(dns.queriesFor('half.test', 'AAAA').length, 2);
      const error = await resolveSeed('quiet.test', { ...opts, timeoutMs: 150, retries: 0 }).catch((e: unknown) => e);
      t.type(error, DiscoveryError, 'every type failed: the first failure is thrown');
      t.equal((error as DiscoveryError).code, 'timeout');
    },
  );
});

t.test('a resolver on IPv6 loopback, over UDP and TCP', async (t) => {
  const dns = await TestDnsServer.start({ host: '::1', zone: { 'v6.test': { a: ['127.0.0.17'], aaaa: ['::1'], mode: 'truncate' } } });
  t.teardown(() => dns.close());
  const r = await resolveSeed('v6.test', { ...fast, servers: [dns.address] });
  t.same(r.addresses.map((a) => [a.address, a.transport]), [['127.0.0.17', 'tcp'], ['::1', 'tcp']]);
  t.same(r.answers[0].server, { host: '::1', port: dns.port });
  t.equal(dns.udpQueries().length, 2);
  t.equal(dns.tcpQueries().length, 2);
});

t.test('a TTL with the top bit set counts as zero', async (t) => {
  await withServer({ 'odd.test': { a: ['127.0.0.18'], ttl: 0x80000000 } }, async (_dns, opts) => {
    const r = await resolveSeed('odd.test', { ...opts, types: ['A'] });
    t.same(r.addresses.map((a) => [a.address, a.ttl]), [['127.0.0.18', 0]]);
  });
});

t.test('a closed resolver port is a network error, not a hang', async (t) => {
  const probe = createSocket('udp4');
  const port = await new Promise<number>((resolve) => probe.bind(0, '127.0.0.1', () => resolve(probe.address().port)));
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const error = (await resolveSeed('seed.test', { ...fast, types: ['A'], retries: 1, servers: [{ host: '127.0.0.1', port }] }).catch((e: unknown) => e)) as DiscoveryError;
  t.type(error, DiscoveryError);
  t.equal(error.code, 'network');
});

t.test('an AbortSignal stops the lookup with code aborted', async (t) => {
  await withServer({ 'quiet.test': { mode: 'silent' } }, async (dns, opts) => {
    const controller = new AbortController();
    const pending = resolveSeed('quiet.test', { ...opts, timeoutMs: 5000, retries: 5, signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    const error = (await pending.catch((e: unknown) => e)) as DiscoveryError;
    t.type(error, DiscoveryError);
    t.equal(error.code, 'aborted');
    t.equal(dns.queries.length, 2, 'one attempt per type, no retry after abort');
    const already = (await resolveSeed('quiet.test', { ...opts, signal: AbortSignal.abort() }).catch((e: unknown) => e)) as DiscoveryError;
    t.equal(already.code, 'aborted');
  });
});

t.test('options are validated before any query', async (t) => {
  await t.rejects(resolveSeed('x.test', { servers: [] }), { name: 'DiscoveryError', code: 'no-servers' });
  await t.rejects(resolveSeed('x.test', { servers: [{ host: 'dns.example', port: 53 }] }), { code: 'bad-server-address' });
  await t.rejects(resolveSeed('x.test', { servers: [{ host: '127.0.0.1', port: 53 }], timeoutMs: 0 }), RangeError);
  await t.rejects(resolveSeed('x.test', { servers: [{ host: '127.0.0.1', port: 53 }], retries: -1 }), RangeError);
});
