// The logger hook: every long-lived object takes a `logger` option of this pino-compatible shape
// (an object of fields first, then a message). The default logs nothing and costs a boolean check:
// fields are only built when the level is on. Lifecycle events only, never one record per message or tx.

/** The levels the library logs at, lowest first. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** A pino-compatible logger: pino's own Logger fits, and so does any object with these four methods. */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  /** When present, used to bind fields (such as the peer id) once instead of adding them to every record. */
  child?(bindings: Record<string, unknown>): Logger;
  /** When present, asked before a record's fields are built (pino's levels can change at run time). */
  isLevelEnabled?(level: string): boolean;
}

/** Logs nothing. */
export const silentLogger: Logger = Object.freeze({
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
});

/**
 * What the library's objects log through: level-checked, fields built lazily, and never throwing,
 * whatever the app's logger does (a logger is called from event handlers, which must not throw).
 */
export class LogHook {
  /** False for the default logger: every call returns at once. */
  readonly enabled: boolean;
  private readonly target: Logger;
  /** Fields added to each record when the logger has no child(). */
  private readonly bound: Record<string, unknown> | undefined;

  constructor(logger: Logger | undefined, bindings?: Record<string, unknown>) {
    this.enabled = logger !== undefined && logger !== silentLogger;
    let target = logger ?? silentLogger;
    let bound: Record<string, unknown> | undefined;
    if (this.enabled && bindings) {
      let child: Logger | undefined;
      try {
        child = typeof target.child === 'function' ? target.child(bindings) : undefined;
      } catch {
        child = undefined;
      }
      if (child) target = child;
      else bound = bindings;
    }
    this.target = target;
    this.bound = bound;
  }

  /** True when a record at `level` would be written (for a caller that must prepare something costly). */
  on(level: LogLevel): boolean {
    if (!this.enabled) return false;
    try {
      return typeof this.target.isLevelEnabled === 'function' ? this.target.isLevelEnabled(level) !== false : true;
    } catch {
      return false;
    }
  }

  debug(msg: string, fields: () => object): void {
    this.write('debug', msg, fields);
  }
  info(msg: string, fields: () => object): void {
    this.write('info', msg, fields);
  }
  warn(msg: string, fields: () => object): void {
    this.write('warn', msg, fields);
  }
  error(msg: string, fields: () => object): void {
    this.write('error', msg, fields);
  }

  private write(level: LogLevel, msg: string, fields: () => object): void {
    if (!this.on(level)) return;
    try {
      const obj = this.bound ? { ...this.bound, ...fields() } : fields();
      this.target[level](obj, msg);
    } catch {
      // A logger that throws must not break the connection or follower that called it.
    }
  }
}

const SILENT_HOOK = new LogHook(undefined);

/** The hook for `logger`; without one, a single shared silent hook (nothing allocated per peer). */
export function logHook(logger: Logger | undefined, bindings?: Record<string, unknown>): LogHook {
  return logger === undefined || logger === silentLogger ? SILENT_HOOK : new LogHook(logger, bindings);
}

/** A bigint flag field (services) as hex text: JSON has no bigint. */
export function hexFlags(value: bigint | undefined): string | undefined {
  return value === undefined ? undefined : `0x${value.toString(16)}`;
}
