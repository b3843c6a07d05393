import t from 'tap';
import {
  DEFAULT_PAYLOAD_LIMITS,
  getBlockTxnLimitFor,
  maxPayloadFor,
  nodePayloadLimitClasses,
  resolvePayloadLimits,
} from '../../lib/framing/limits.js';
import { messageCodecs } from '../../lib/messages/index.js';

t.test('defaults follow the node', (t) => {
  t.equal(DEFAULT_PAYLOAD_LIMITS.default, 2_097_152);
  t.equal(DEFAULT_PAYLOAD_LIMITS.protoconf, 1_048_576);
  t.equal(DEFAULT_PAYLOAD_LIMITS.tx, 1_000_000_000);
  t.equal(DEFAULT_PAYLOAD_LIMITS.block, 10_000_000_000);
  // 10e9 / 215 = 46511627 (floor), * 6 + 24
  t.equal(DEFAULT_PAYLOAD_LIMITS.getblocktxn, 46_511_627 * 6 + 24);
  t.equal(getBlockTxnLimitFor(215), 30);
  t.equal(getBlockTxnLimitFor(214), 24);
  t.end();
});

t.test('maxPayloadFor picks the class by command', (t) => {
  t.equal(maxPayloadFor('verack'), 2_097_152);
  t.equal(maxPayloadFor('ping'), 2_097_152);
  t.equal(maxPayloadFor('inv'), 2_097_152);
  t.equal(maxPayloadFor('no-such-cmd'), 2_097_152, 'unknown commands get the default limit');
  t.equal(maxPayloadFor(''), 2_097_152);
  t.equal(maxPayloadFor('protoconf'), 1_048_576);
  t.equal(maxPayloadFor('tx'), 1_000_000_000);
  t.equal(maxPayloadFor('datareftx'), 1_000_000_000);
  for (const c of ['block', 'cmpctblock', 'blocktxn', 'hdrsen']) t.equal(maxPayloadFor(c), 10_000_000_000, c);
  t.equal(maxPayloadFor('getblocktxn'), DEFAULT_PAYLOAD_LIMITS.getblocktxn);
  t.equal(maxPayloadFor('toString'), 2_097_152, 'no prototype lookups');
  t.end();
});

t.test('overrides are validated and getblocktxn follows block', (t) => {
  const small = resolvePayloadLimits({ block: 1_000_000, default: 100 });
  t.equal(small.block, 1_000_000);
  t.equal(small.getblocktxn, getBlockTxnLimitFor(1_000_000));
  t.equal(small.default, 100);
  t.equal(small.tx, 1_000_000_000);
  t.equal(maxPayloadFor('block', small), 1_000_000);
  t.equal(maxPayloadFor('whatever', small), 100);
  t.equal(resolvePayloadLimits({ block: 10, getblocktxn: 7 }).getblocktxn, 7, 'explicit getblocktxn wins');
  t.equal(resolvePayloadLimits({ block: Number.MAX_SAFE_INTEGER }).block, Number.MAX_SAFE_INTEGER, 'unlimited blocks');
  t.ok(Object.isFrozen(small));
  t.throws(() => resolvePayloadLimits({ block: -1 }), RangeError);
  t.throws(() => resolvePayloadLimits({ default: 1.5 }), RangeError);
  t.throws(() => resolvePayloadLimits({ tx: Number.MAX_SAFE_INTEGER + 1 }), RangeError);
  t.throws(() => resolvePayloadLimits({ protoconf: Number.NaN }), RangeError);
  t.end();
});

t.test("registered codecs agree with the node's limit table", (t) => {
  for (const [command, codec] of messageCodecs) {
    t.equal(codec.limit, nodePayloadLimitClasses[command] ?? 'default', `${command} limit class`);
  }
  t.end();
});
