import t from 'tap';
import { defineNetwork, getNetwork, mainnet, regtest, stn, testnet, PROTOCOL_VERSION } from '../lib/networks.js';

t.test('built-in networks carry the BSV node parameters', (t) => {
  const expected = [
    [mainnet, 'e3e1f3e8', 8333, 3, '000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f'],
    [testnet, 'f4e5f3f4', 18333, 3, '000000000933ea01ad0ee984209779baaec3ced90fa3f408719526f8d77f4943'],
    [stn, 'fbcec4f9', 9333, 2, '000000000933ea01ad0ee984209779baaec3ced90fa3f408719526f8d77f4943'],
    [regtest, 'dab5bffa', 18444, 0, '0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206'],
  ] as const;
  for (const [net, magic, port, seeds, genesis] of expected) {
    t.equal(net.magic.toString('hex'), magic, `${net.name} magic`);
    t.equal(net.defaultPort, port, `${net.name} port`);
    t.equal(net.dnsSeeds.length, seeds, `${net.name} seeds`);
    t.equal(net.genesisHash, genesis, `${net.name} genesis`);
    t.equal(net.protocolVersion, 70016);
  }
  t.same(mainnet.dnsSeeds, ['seed.bitcoinsv.io', 'seed.satoshisvision.network', 'seed.bitcoinseed.directory']);
  t.equal(PROTOCOL_VERSION, 70016);
  t.end();
});

t.test('lookup by name, with the node spellings', (t) => {
  t.equal(getNetwork('main'), mainnet);
  t.equal(getNetwork('regtest'), regtest);
  t.throws(() => getNetwork('bch'), /unknown network/);
  t.end();
});

t.test('custom networks: own magic and port, validated', (t) => {
  const net = defineNetwork({ name: 'private', magic: 'deadbeef', defaultPort: 19999, dnsSeeds: ['seed.test'] });
  t.equal(net.magic.toString('hex'), 'deadbeef');
  t.equal(net.defaultPort, 19999);
  t.same(net.dnsSeeds, ['seed.test']);
  t.equal(net.protocolVersion, 70016);
  t.throws(() => defineNetwork({ name: 'x', magic: 'dead', defaultPort: 1 }), /4 bytes/);
  t.throws(() => defineNetwork({ name: 'x', magic: 'deadbeef', defaultPort: 70000 }), /bad port/);
  t.ok(Object.isFrozen(net));
  t.end();
});
