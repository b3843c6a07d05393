import t from 'tap';
import {
  addressKey,
  canonicalIp,
  defaultNetgroup,
  formatSubnet,
  parseIp,
  parseSubnet,
  splitHostPort,
  subnetContains,
} from '../../lib/peerstore/ip.js';

t.test('IP literals parse to 16 bytes and print canonically', (t) => {
  t.equal(parseIp('1.2.3.4')?.toString('hex'), '00000000000000000000ffff01020304');
  t.equal(canonicalIp('::ffff:1.2.3.4'), '1.2.3.4', 'IPv4-mapped IPv6 is IPv4');
  t.equal(canonicalIp('2001:0DB8:0000:0000:0000:0000:0000:0001'), '2001:db8::1');
  t.equal(canonicalIp('2001:db8:0:0:1:0:0:1'), '2001:db8::1:0:0:1', 'first of two equal zero runs is compressed');
  t.equal(canonicalIp('::'), '::');
  t.equal(canonicalIp('::1'), '::1');
  t.equal(canonicalIp('1::'), '1::');
  t.equal(canonicalIp('2001:db8:1:2:3:4:5:6'), '2001:db8:1:2:3:4:5:6');
  t.equal(canonicalIp('2001:db8:0:1:2:3:4:5'), '2001:db8:0:1:2:3:4:5', 'a single zero group is not compressed');
  t.equal(canonicalIp('2001:db8::0:1:2:3:4'), '2001:db8::1:2:3:4');
  t.equal(canonicalIp('64:ff9b::192.0.2.33'), '64:ff9b::c000:221');
  for (const bad of ['', 'example.com', '1.2.3', '1.2.3.256', '01.2.3.4', 'fe80::1%eth0', '1:2:3:4:5:6:7:8:9', '[::1]', '::g']) {
    t.equal(parseIp(bad), undefined, `refused ${JSON.stringify(bad)}`);
  }
  t.end();
});

t.test('address keys and host:port splitting', (t) => {
  t.equal(addressKey('1.2.3.4', 8333), '1.2.3.4:8333');
  t.equal(addressKey('2001:db8::1', 8333), '[2001:db8::1]:8333');
  t.same(splitHostPort('[2001:db8::1]:18444'), { host: '2001:db8::1', port: 18444 });
  t.same(splitHostPort('127.0.0.5:8333'), { host: '127.0.0.5', port: 8333 });
  t.equal(splitHostPort('2001:db8::1:8333'), undefined, 'bare IPv6 with port is ambiguous');
  t.equal(splitHostPort('1.2.3.4'), undefined);
  t.end();
});

t.test('netgroups: /16 for IPv4, /32 for IPv6, IPv4 inside IPv6 counts as IPv4', (t) => {
  t.equal(defaultNetgroup('10.1.2.3'), 'ipv4:10.1');
  t.equal(defaultNetgroup('10.1.200.3'), defaultNetgroup('10.1.2.3'));
  t.not(defaultNetgroup('10.2.2.3'), defaultNetgroup('10.1.2.3'));
  t.equal(defaultNetgroup('2001:db8:aaaa::1'), 'ipv6:20010db8');
  t.equal(defaultNetgroup('2001:db8:bbbb::1'), defaultNetgroup('2001:db8:aaaa::1'));
  t.equal(defaultNetgroup('::ffff:10.1.9.9'), 'ipv4:10.1');
  t.equal(defaultNetgroup('2002:0a01:0203::1'), 'ipv4:10.1', '6to4 carries 10.1.2.3');
  t.equal(defaultNetgroup('2001:0:4136:e378:8000:63bf:f5fe:fdfc'), 'ipv4:10.1', 'Teredo carries ~f5fe:fdfc = 10.1.2.3');
  t.end();
});

t.test('subnets: IPv4 and IPv6 CIDR, host bits cleared, containment', (t) => {
  const v4 = parseSubnet('192.168.7.9/16');
  t.ok(v4);
  t.equal(formatSubnet(v4!), '192.168.0.0/16');
  t.ok(subnetContains(v4!, parseIp('192.168.255.1')!));
  t.notOk(subnetContains(v4!, parseIp('192.169.0.1')!));
  t.notOk(subnetContains(v4!, parseIp('2001:db8::1')!), 'IPv6 outside an IPv4 subnet');
  t.equal(formatSubnet(parseSubnet('1.2.3.4')!), '1.2.3.4/32');
  t.equal(formatSubnet(parseSubnet('0.0.0.0/0')!), '0.0.0.0/0');
  t.ok(subnetContains(parseSubnet('0.0.0.0/0')!, parseIp('8.8.8.8')!));
  t.notOk(subnetContains(parseSubnet('0.0.0.0/0')!, parseIp('2001:db8::1')!), '0.0.0.0/0 covers IPv4 only');

  const v6 = parseSubnet('2001:db8:abcd:12::/61');
  t.equal(formatSubnet(v6!), '2001:db8:abcd:10::/61');
  t.ok(subnetContains(v6!, parseIp('2001:db8:abcd:17::1')!));
  t.notOk(subnetContains(v6!, parseIp('2001:db8:abcd:18::1')!));
  t.equal(formatSubnet(parseSubnet('::1')!), '::1/128');
  for (const bad of ['1.2.3.4/33', '::/129', '1.2.3.4/', '1.2.3.4/-1', 'host/8', '1.2.3.4/8/8']) {
    t.equal(parseSubnet(bad), undefined, `refused ${bad}`);
  }
  t.end();
});
