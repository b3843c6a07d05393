import type { LogHook } from '../logger.js';

// How a chain shell drives its sans-IO core: one step, then each output applied in order. A core or an
// output that throws is reported through onError, never thrown out of the event handler that ran it.
export function runCore<O>(step: () => O[], apply: (output: O) => void, onError: (err: unknown) => void): void {
  let outputs: O[];
  try {
    outputs = step();
  } catch (err) {
    onError(err);
    return;
  }
  for (const output of outputs) {
    try {
      apply(output);
    } catch (err) {
      onError(err);
    }
  }
}

/** What emitSafely needs of a shell: its EventEmitter's emit, by event name. */
interface Emitter {
  emit(event: string, ...args: unknown[]): boolean;
}

/**
 * Emits a chain shell's event so that nothing throws out of it: a listener that throws is reported as
 * `listenerError` (a throwing listenerError listener is the app's own business). Errors are also logged.
 */
export function emitSafely(shell: object, log: LogHook | undefined, event: string, args: readonly unknown[]): void {
  const target = shell as Emitter;
  if (event === 'listenerError') log?.error('error', () => ({ err: args[0] }));
  try {
    target.emit(event, ...args);
  } catch (err) {
    log?.error('listener error', () => ({ event, err }));
    if (event === 'listenerError') return;
    try {
      target.emit('listenerError', err);
    } catch {
      // The app's own business.
    }
  }
}
