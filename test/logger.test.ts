// LogHook, what every object logs through: fields are built only when the level is on, bindings go through
// child() or into each record, and nothing a logger does escapes.
import t from 'tap';
import { LogHook, logHook, silentLogger, type Logger } from '../lib/logger.js';
import { recordingLogger } from './helpers/recording-logger.js';

t.test('no logger, or the silent one: fields are never built', async (t) => {
  let built = 0;
  const fields = (): object => {
    built++;
    return {};
  };
  for (const hook of [logHook(undefined), logHook(silentLogger), new LogHook(undefined, { peer: 'x' })]) {
    t.equal(hook.enabled, false);
    hook.error('e', fields);
    hook.info('i', fields);
  }
  t.equal(built, 0);
  t.equal(logHook(undefined, { peer: 'a' }), logHook(undefined, { peer: 'b' }), 'one shared silent hook');
});

t.test("a level the logger has off (isLevelEnabled): that record's fields are never built", async (t) => {
  const rec = recordingLogger();
  const logger: Logger = { ...rec, isLevelEnabled: (level) => level !== 'debug' };
  const hook = logHook(logger);
  let built = 0;
  hook.debug('chatty', () => ({ n: ++built }));
  hook.info('lifecycle', () => ({ n: ++built }));
  t.equal(built, 1, 'only the info fields were built');
  t.same(rec.records, [{ level: 'info', msg: 'lifecycle', fields: { n: 1 } }]);
});

t.test('bindings: through child() when there is one, else added to each record; a throwing child() falls back', async (t) => {
  const plain = recordingLogger();
  logHook(plain, { peer: 'p1' }).warn('w', () => ({ score: 3 }));
  t.same(plain.records, [{ level: 'warn', msg: 'w', fields: { peer: 'p1', score: 3 } }]);

  const viaChild = recordingLogger();
  const bound: Record<string, unknown>[] = [];
  const withChild: Logger = { ...viaChild, child: (b) => (bound.push(b), viaChild) };
  logHook(withChild, { peer: 'p2' }).info('i', () => ({ a: 1 }));
  t.same(bound, [{ peer: 'p2' }]);
  t.same(viaChild.records, [{ level: 'info', msg: 'i', fields: { a: 1 } }], 'the child carries the binding, not the record');

  const badChild = recordingLogger();
  const throwing: Logger = {
    ...badChild,
    child: () => {
      throw new Error('no child');
    },
  };
  logHook(throwing, { peer: 'p3' }).error('e', () => ({}));
  t.same(badChild.records, [{ level: 'error', msg: 'e', fields: { peer: 'p3' } }]);
});

t.test('nothing escapes: a throwing method, a throwing isLevelEnabled, a throwing fields builder', async (t) => {
  const boom = (): never => {
    throw new Error('boom');
  };
  const hook = logHook({ debug: boom, info: boom, warn: boom, error: boom });
  t.doesNotThrow(() => hook.info('x', () => ({})));
  t.doesNotThrow(() => logHook({ ...recordingLogger(), isLevelEnabled: boom }).warn('x', () => ({})));
  const rec = recordingLogger();
  t.doesNotThrow(() => logHook(rec).warn('x', boom));
  t.same(rec.records, []);
});
