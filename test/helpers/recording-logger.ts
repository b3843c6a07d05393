// A logger for tests: records every call (level, message, fields) instead of writing anywhere.
import type { Logger } from '../../lib/logger.js';

export interface LogRecord {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly msg: string | undefined;
  readonly fields: Record<string, unknown>;
}

export interface RecordingLogger extends Logger {
  readonly records: LogRecord[];
  /** Records with this message, in order. */
  find(msg: string): LogRecord[];
}

/** Without child(): the library must add bound fields (the peer id) to each record itself. */
export function recordingLogger(): RecordingLogger {
  const records: LogRecord[] = [];
  const at = (level: LogRecord['level']) => (obj: object, msg?: string): void => {
    records.push({ level, msg, fields: { ...(obj as Record<string, unknown>) } });
  };
  return {
    records,
    find: (msg) => records.filter((r) => r.msg === msg),
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
  };
}

/** A logger every method of which throws, child() included. */
export function throwingLogger(): Logger & { calls: number } {
  const logger = {
    calls: 0,
    debug: () => boom(logger),
    info: () => boom(logger),
    warn: () => boom(logger),
    error: () => boom(logger),
    child: () => boom(logger),
  };
  return logger;
}

function boom(logger: { calls: number }): never {
  logger.calls++;
  throw new Error('logger failure');
}
