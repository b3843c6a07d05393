import t from 'tap';
import { bitsFromTarget, blockWork, targetFromBits } from '../../lib/chain/work.js';

t.test('compact bits round trip through the target, as the node reads and writes them', async (t) => {
  for (const bits of [0x1d00ffff, 0x1b0404cb, 0x207fffff, 0x18034b3b, 0x1c0ffff0, 0x03123456, 0x01120000]) {
    const target = targetFromBits(bits);
    t.not(target, undefined, `0x${bits.toString(16)} decodes`);
    t.equal(bitsFromTarget(target!), bits, `0x${bits.toString(16)} re-encodes`);
  }
  t.equal(targetFromBits(0x1d00ffff), 0xffffn << 208n);
  t.equal(targetFromBits(0x04923456), undefined, 'the sign bit with a mantissa is refused');
  t.equal(targetFromBits(0xff123456), undefined, 'an exponent past 256 bits is refused');
  t.equal(bitsFromTarget(0x80n), 0x02008000, 'a high mantissa bit moves into the next byte, never the sign bit');
});

t.test('work per header is 2^256 / (target + 1)', async (t) => {
  t.equal(blockWork(0x1d00ffff), 0x100010001n, 'difficulty 1 (genesis) is 4295032833 hashes');
  t.equal(blockWork(0x207fffff), 2n, 'the regtest limit is 2 hashes');
  t.equal(blockWork(0x04923456), 0n, 'an invalid target has no work');
  t.equal(blockWork(0), 0n, 'a zero target has no work');
});
