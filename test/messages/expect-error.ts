import type { Test } from 'tap';
import { DecodeError, EncodeError } from '../../lib/errors.js';

/** Asserts `fn` throws a DecodeError for `command` naming `field` with `reason`, and returns it. */
export function expectDecodeError(
  t: Test,
  fn: () => unknown,
  expected: { command: string; field: string; reason: DecodeError['reason'] },
  message: string,
): DecodeError | undefined {
  try {
    fn();
  } catch (err) {
    t.ok(err instanceof DecodeError, `${message}: a DecodeError`);
    if (err instanceof DecodeError) {
      t.match({ command: err.command, field: err.field, reason: err.reason }, expected, message);
      return err;
    }
    return undefined;
  }
  t.fail(`${message}: did not throw`);
  return undefined;
}

/** Asserts `fn` throws an EncodeError naming `field`. */
export function expectEncodeError(t: Test, fn: () => unknown, field: string, message: string): void {
  try {
    fn();
  } catch (err) {
    t.ok(err instanceof EncodeError && err.field === field, `${message}: EncodeError on ${field} (${String(err)})`);
    return;
  }
  t.fail(`${message}: did not throw`);
}
