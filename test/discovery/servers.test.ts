import t from 'tap';
import { getServers } from 'node:dns';
import { parseDnsServer, formatDnsServer, systemDnsServers, DiscoveryError } from '../../lib/discovery/index.js';

t.test('resolver addresses in every form node:dns uses', (t) => {
  t.same(parseDnsServer('127.0.0.53'), { host: '127.0.0.53', port: 53 });
  t.same(parseDnsServer('127.0.0.1:5353'), { host: '127.0.0.1', port: 5353 });
  t.same(parseDnsServer('::1'), { host: '::1', port: 53 });
  t.same(parseDnsServer('fe80::1'), { host: 'fe80::1', port: 53 });
  t.same(parseDnsServer('[::1]'), { host: '::1', port: 53 });
  t.same(parseDnsServer('[::1]:5353'), { host: '::1', port: 5353 });
  t.equal(formatDnsServer({ host: '::1', port: 5353 }), '[::1]:5353');
  t.equal(formatDnsServer({ host: '127.0.0.1', port: 53 }), '127.0.0.1:53');
  t.end();
});

t.test('anything else is a bad-server-address DiscoveryError', (t) => {
  for (const bad of ['', 'dns.example', 'dns.example:53', '127.0.0.1:', '127.0.0.1:0', '127.0.0.1:65536', '127.0.0.1:5x', '[::1', '[::1]x', '[127.0.0.1]:53', '1.2.3:53']) {
    t.throws(() => parseDnsServer(bad), { name: 'DiscoveryError', code: 'bad-server-address' }, JSON.stringify(bad));
  }
  t.type((() => { try { parseDnsServer('x'); } catch (e) { return e; } })(), DiscoveryError);
  t.end();
});

t.test('the default resolvers are the system ones, parsed', (t) => {
  t.same(systemDnsServers(), getServers().map(parseDnsServer));
  t.end();
});
